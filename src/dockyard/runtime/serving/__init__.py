"""The serving data plane: worker processes that answer one endpoint's inference requests.

Addressing
----------
One port per endpoint, SageMaker-style: each endpoint has its own base URL, so the SageMaker
contract's ``/ping`` and ``/invocations``, MLflow's scoring routes and the Open Inference
Protocol's ``/v2/...`` all live at its root, with no path prefix to rewrite for existing
clients. SageMaker Runtime's ``POST /endpoints/{EndpointName}/invocations`` (boto3's
``invoke_endpoint``, the SageMaker SDK's ``Predictor``) is answered there too, with AWS's
headers and error shapes (:mod:`dockyard.api.serving.aws`); the server passes the same path on to
the workers. An endpoint's workers share that port (``SO_REUSEPORT``, or one listening socket a
supervisor passes down with ``--fd``), so workers are added and removed, for autoscaling or a
blue/green swap, while the port stays open.

A worker (``python -m dockyard.runtime.serving.worker --config CONFIG.json``, see :mod:`.worker`)
serves one :class:`~dockyard.api.serving.config.WorkerConfig`: production variants split by weight,
at most one shadow variant, data capture, limits. The control plane talks to each worker on its
admin unix socket (:class:`~dockyard.api.serving.client.WorkerAdmin`): statistics, Prometheus
metrics, a new config applied without dropping a request, drain.

The request path
----------------
Everything a request touches is in the worker process: no network hop, no database write.

1. **HTTP.** uvicorn with httptools on uvloop, and a raw ASGI app that dispatches on the path
   with a dict lookup (:mod:`._app`): no framework routing or middleware. Bodies over the limit
   are refused from ``Content-Length`` and by counting what arrives (413).
2. **Routing.** ``X-Dockyard-Target-Variant`` pins a production variant (unknown: 400); otherwise
   a weighted draw (:mod:`._routing`). Answers name the variant in ``X-Dockyard-Variant`` and
   carry ``X-Request-Id`` (the caller's, if it sent a sane one).
3. **Decoding** by protocol (:mod:`._sagemaker`, :mod:`._mlflow`, :mod:`._oip`) into the
   variant's signature (:mod:`._inputs`): numeric rows become one ndarray with no DataFrame on
   the way; anything else goes through the model package's own decoders and signature enforcer.
   Errors are 400s naming the column, input or line. ``text/csv`` has no header unless its
   first line is exactly the signature's column names. A package carrying SageMaker inference
   handlers (:mod:`dockyard.models.flavors.sagemaker_script`) decodes nothing here: the body,
   ``Content-Type`` and ``Accept`` go to its ``input_fn`` / ``output_fn`` on the variant's
   thread, and its answer is sent as it is.
4. **Batching** (:mod:`._batching`): continuous micro-batching; a lone request never waits,
   concurrent ones share a predict call. Fast vectorised models predict inline on the event
   loop (a thread hop costs more than their batch); slow or custom models on the variant's own
   thread, so timeouts (504) still fire.
5. **Answer** in JSON, CSV or JSON Lines by ``Accept`` (:mod:`._outputs`), or OIP tensors.
   A model exception is a 500 with the request id, never a traceback.
6. **After the answer**: statistics (:mod:`._metrics`), a buffered JSON access log
   (:mod:`._accesslog`), a sampled capture record queued for a writer thread (:mod:`._capture`),
   a sampled copy for the shadow variant (:mod:`._shadow`). None of them can block or fail the
   request: their queues are bounded and what does not fit is dropped and counted.

API keys
--------
An endpoint may require a key (``require_api_key``): every request but the health checks
(``/ping``, ``/health``, ``/v2/health/*``) then needs ``Authorization: Bearer <key>`` or
``X-Api-Key: <key>``, else 401 (:mod:`dockyard.api.serving`). The worker holds only the keys'
SHA-256 digests, from its config, so checking one is a hash and a constant-time compare, with no
database on the way; revoking a key is a new config.

Runtime changes
---------------
``PUT /config`` loads new or changed models on a thread while the old ones keep answering, then
swaps one immutable :class:`~._endpoint.State`; variants that left are released when their
in-flight requests finish (:mod:`._endpoint`). ``POST /drain`` or SIGTERM stops accepting,
finishes in-flight requests, flushes capture and exits 0.
"""

from __future__ import annotations

__all__: list[str] = []
