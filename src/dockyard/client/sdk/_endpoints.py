"""Deploying and invoking endpoints: ``dy.deploy(...)``, ``dy.Predictor(name).predict(X)``."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx

from dockyard.api.endpoints import (
    Endpoint,
    EndpointKey,
    EndpointLogPage,
    EndpointStatus,
    NewEndpointKey,
)
from dockyard.client.http import Client, from_answer, routes
from dockyard.client.sdk._context import context
from dockyard.client.sdk._requests import spec_body
from dockyard.client.sdk._serializers import (
    Deserializer,
    JSONSerializer,
    NumpyDeserializer,
    Serializer,
)
from dockyard.client.sdk._upload import to_store
from dockyard.errors import DeadlineExceeded, JobFailed, error_from_dict

if TYPE_CHECKING:
    from dockyard.api.endpoints import EndpointConfig, EndpointUpdate

__all__ = ["EndpointHandle", "Predictor", "deploy", "invocations"]

_SETTLED = (EndpointStatus.IN_SERVICE, EndpointStatus.FAILED)


class EndpointHandle:
    """A deployed endpoint: ``url`` is where applications send requests.

    ``dy.EndpointHandle("wine")`` is an endpoint deployed earlier, to describe, update or
    delete (through the configured server unless ``client`` is given).
    """

    def __init__(
        self,
        name: str,
        client: Client | None = None,
        *,
        serializer: Serializer | None = None,
        deserializer: Deserializer | None = None,
    ) -> None:
        self.name = name
        self._client = client if client is not None else context().server()
        self.serializer = serializer
        self.deserializer = deserializer
        self._predictor: Predictor | None = None

    @property
    def endpoint_name(self) -> str:
        """The SageMaker SDK's name for :attr:`name`."""
        return self.name

    def predict(self, data: Any) -> Any:
        """Predictions for ``data``, with the serializer and deserializer given at deploy
        (as the SageMaker SDK's ``deploy()`` returns a predictor)."""
        if self._predictor is None:
            self._predictor = Predictor(
                self.name, serializer=self.serializer, deserializer=self.deserializer
            )
        return self._predictor.predict(data)

    def describe(self, stats: bool = False) -> Endpoint:
        return from_answer(
            Endpoint,
            self._client.call(routes.GET_ENDPOINT(name=self.name), params={"stats": stats}),
        )

    @property
    def url(self) -> str:
        return self.describe().url

    def wait(self, timeout: float = 600.0, poll: float = 0.25) -> Endpoint:
        """Block until the endpoint is InService (or Failed); returns its description."""
        deadline = time.monotonic() + timeout
        while True:
            endpoint = self.describe()
            if endpoint.status in _SETTLED:
                return endpoint
            if time.monotonic() > deadline:
                raise DeadlineExceeded(
                    f"endpoint {self.name} still {endpoint.status.value} after {timeout:.0f} s"
                )
            time.sleep(poll)

    def update(self, config: Mapping[str, Any], *, wait: bool = True) -> Endpoint:
        """Roll out a new configuration (its ``rollout`` field says how).

        What ``config`` leaves out (data capture, scaling, the shadow...) stays as it is; a
        local model folder (relative to the current directory) is uploaded first, as
        :func:`deploy` does.

        Raises:
            JobFailed: With ``wait``, the update did not take: it was rolled back (the
                endpoint serves its previous configuration) or the endpoint failed; the
                message has the reason, as ``dockyard endpoints update`` prints it.
        """
        if not isinstance(config, Mapping):
            from dockyard.errors import InvalidArgument

            raise InvalidArgument(
                "update takes the fields that change as a mapping ({'variants': [...]}), "
                f"not {type(config).__name__}",
                field="config",
            )
        body = _with_uploaded_models(self._client, {"name": self.name, **config})
        self._client.call(routes.UPDATE_ENDPOINT(name=self.name), _config(body, update=True))
        if not wait:
            return self.describe()
        return _took(self.wait())

    def delete(self) -> None:
        if self._predictor is not None:
            self._predictor.close()
            self._predictor = None
        self._client.call(routes.DELETE_ENDPOINT(name=self.name))

    def delete_endpoint(self) -> None:
        """The SageMaker SDK's name for :meth:`delete`."""
        self.delete()

    def predictor(self, **kwargs: Any) -> Predictor:
        return Predictor(self.name, **kwargs)

    def create_key(self) -> NewEndpointKey:
        """Make an API key; ``.key`` is shown here only (the server keeps its digest)."""
        answer = self._client.call(routes.CREATE_ENDPOINT_KEY(name=self.name))
        return from_answer(NewEndpointKey, answer)

    def list_keys(self) -> list[EndpointKey]:
        """The endpoint's API keys (ids and creation times)."""
        answer = self._client.call(routes.LIST_ENDPOINT_KEYS(name=self.name))
        return [from_answer(EndpointKey, k) for k in answer["keys"]]

    def delete_key(self, key_id: str) -> None:
        """Revoke an API key."""
        self._client.call(routes.DELETE_ENDPOINT_KEY(name=self.name, key_id=key_id))

    def logs(
        self, offset: int = 0, *, worker: str | None = None, limit: int | None = None
    ) -> EndpointLogPage:
        """Text of one worker's log from ``offset`` (the newest worker's unless ``worker``
        names one); ``.workers`` lists every worker log the endpoint keeps."""
        params: dict[str, Any] = {"offset": offset}
        if worker is not None:
            params["worker"] = worker
        if limit is not None:
            params["limit"] = limit
        answer = self._client.call(routes.GET_ENDPOINT_LOGS(name=self.name), params=params)
        return from_answer(EndpointLogPage, answer)

    def iter_logs(
        self, *, worker: str | None = None, follow: bool = False, poll: float = 0.5
    ) -> Iterator[EndpointLogPage]:
        """Pages of the endpoint's workers' logs (one worker's if ``worker`` is given), each
        log from its oldest byte kept, oldest worker first. With ``follow``, keeps looking for
        new lines and new workers every ``poll`` seconds until ``worker`` exits (without a
        ``worker``, until the endpoint is deleted: :class:`~dockyard.errors.NotFound`)."""
        offsets: dict[str, int] = {}
        while True:
            listed = self.logs(worker=worker, limit=1).workers
            for info in listed:
                if worker is None or info.worker == worker:
                    offsets.setdefault(info.worker, info.first_offset)
            news, ended = False, True
            for name, offset in offsets.items():
                at = offset
                while True:
                    page = self.logs(at, worker=name)
                    at = page.next_offset
                    if page.text:
                        news = True
                        yield page
                    if not page.text or page.ended:
                        break
                offsets[name] = at
                ended = ended and page.ended
            if not follow or (worker is not None and ended):
                return
            if not news:
                time.sleep(poll)

    def __repr__(self) -> str:
        return f"<Endpoint {self.name}>"


def _took(endpoint: Endpoint) -> Endpoint:
    """``endpoint`` as an update it just went through left it, if the update took.

    Raises:
        JobFailed: It was rolled back, or the endpoint failed (the reason in the message).
    """
    if endpoint.status is EndpointStatus.FAILED:
        raise JobFailed(
            f"endpoint {endpoint.name} failed: {endpoint.failure_reason}",
            details={"endpoint": endpoint.name, "status": endpoint.status.value},
        )
    if endpoint.failure_reason:  # an update clears it: this one's outcome
        raise JobFailed(
            f"endpoint {endpoint.name}: {endpoint.failure_reason}; it serves its previous "
            "configuration",
            details={"endpoint": endpoint.name, "status": endpoint.status.value},
        )
    return endpoint


def _config(
    body: Mapping[str, Any], *, update: bool = False
) -> EndpointConfig | EndpointUpdate | dict[str, Any]:
    """The server's own config model (an update's, with ``update``), validated here: a bad
    value fails before it is sent, naming the field as the server would; only the fields
    given are sent (an update keeps the rest)."""
    from dockyard.api.endpoints import EndpointConfig, EndpointUpdate

    return spec_body(EndpointUpdate if update else EndpointConfig, body)


def _with_uploaded_models(client: Client, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with local model folders (variants' and the shadow's) replaced by the URIs of
    their uploads: the server reads only its store and data roots."""
    out = dict(body)
    if isinstance(out.get("variants"), (list, tuple)):
        out["variants"] = [
            to_store(client, v, "models", f"variants.{i}.model_uri", key="model_uri")
            if isinstance(v, Mapping)
            else v
            for i, v in enumerate(out["variants"])
        ]
    if isinstance(out.get("shadow"), Mapping):
        shadow = out["shadow"]
        out["shadow"] = to_store(client, shadow, "models", "shadow.model_uri", key="model_uri")
    return out


def _variants(model_uri: str | None, variants: Sequence[Mapping[str, Any]] | None) -> Any:
    """The variants to send; what is not a list of mappings goes as it is, for the config's
    validation to name (``variants: Input should be a valid list``), not to fail in ``dict``."""
    if isinstance(variants, (str, bytes, Mapping)) or (
        variants and not isinstance(variants, Sequence)
    ):
        return variants
    if variants:
        return [dict(v) if isinstance(v, Mapping) else v for v in variants]
    if model_uri is None:
        from dockyard.errors import InvalidArgument

        raise InvalidArgument("give a model_uri or variants", field="variants")
    return [{"name": "primary", "model_uri": model_uri, "weight": 1.0}]


def deploy(
    model_uri: str | None = None,
    *,
    name: str | None = None,
    variants: Sequence[Mapping[str, Any]] | None = None,
    shadow: Mapping[str, Any] | None = None,
    capture: Mapping[str, Any] | None = None,
    scaling: Mapping[str, Any] | None = None,
    rollout: Mapping[str, Any] | None = None,
    wait: bool = True,
    endpoint_name: str | None = None,
    initial_instance_count: int | None = None,
    instance_type: str | None = None,
    serializer: Serializer | None = None,
    deserializer: Deserializer | None = None,
    **options: Any,
) -> EndpointHandle:
    """Deploy a model (or several variants) behind an endpoint; update it if it exists.

    The SageMaker SDK's ``deploy()`` arguments work too: ``endpoint_name`` is ``name``,
    ``initial_instance_count`` is the number of workers (``scaling`` min and max),
    ``instance_type`` is accepted and ignored (workers share the server's machine), and
    ``serializer`` / ``deserializer`` are what the returned handle's ``predict`` uses.

    Args:
        model_uri: One model for a single variant named ``primary``. A local package folder
            (here or in ``variants`` and ``shadow``) is uploaded to the store first.
        name: The endpoint's name (or ``endpoint_name``).
        variants: ``[{"name", "model_uri", "weight", "batching"}]`` production variants.
        shadow: ``{"name", "model_uri", "sampling_pct"}``: gets a copy of sampled traffic.
        capture: ``{"enabled": True, "sampling_pct", "mode", "destination"}``.
        scaling: ``{"min_workers", "max_workers", "target_in_flight", "cooldown_s"}``.
        rollout: How an update shifts traffic: ``{"strategy": "canary", "canary_pct": 10,
            "bake_s": 60, "final_bake_s": 0, "thresholds": {"max_error_rate", "max_p99_ms",
            "min_requests"}}``.
        wait: Block until the endpoint is InService.

    Deploying over an existing endpoint updates it: what this call leaves out (``capture``,
    ``scaling``...) keeps its current value. With ``wait``, an update still rolling out is
    waited for first, and an update rolled back raises :class:`~dockyard.errors.JobFailed`
    with the reason (the endpoint serves its previous configuration).
    """
    from dockyard.errors import InvalidArgument

    del instance_type
    name = name or endpoint_name
    if name is None:
        raise InvalidArgument("give the endpoint a name (name= or endpoint_name=)", field="name")
    if initial_instance_count is not None and scaling is None:
        scaling = {"min_workers": initial_instance_count, "max_workers": initial_instance_count}
    client = context().server()
    body: dict[str, Any] = {"name": name, "variants": _variants(model_uri, variants), **options}
    for key, value in (
        ("shadow", shadow),
        ("capture", capture),
        ("scaling", scaling),
        ("rollout", rollout),
    ):
        if value is not None:
            body[key] = dict(value) if isinstance(value, Mapping) else value
    config = _config(_with_uploaded_models(client, body))
    handle = EndpointHandle(name, client, serializer=serializer, deserializer=deserializer)
    from dockyard.errors import Conflict

    updated = False
    try:
        client.call(routes.CREATE_ENDPOINT(), config)
    except Conflict as exc:
        if exc.field != "name":
            raise
        updated = True
        try:
            client.call(routes.UPDATE_ENDPOINT(name=name), config)
        except Conflict:
            if not wait:
                raise
            handle.wait()  # a rollout still in progress: deploy over it once it settles
            client.call(routes.UPDATE_ENDPOINT(name=name), config)
    if wait:
        endpoint = handle.wait()
        if updated:
            _took(endpoint)  # an update that did not take raises, as EndpointHandle.update does
        elif endpoint.status is EndpointStatus.FAILED:
            from dockyard.errors import Unavailable

            raise Unavailable(f"endpoint {name} failed: {endpoint.failure_reason}")
    return handle


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def invocations(name: str, url: str, server: Client) -> tuple[str, dict[str, str]]:
    """Where this process sends endpoint ``name``'s predictions, and the credentials to send.

    The endpoint's own port (``url``/invocations), unless the endpoint listens on the server
    machine's loopback (as it does unless its config exposes it) while this process reaches the
    server over the network: that address would be this machine's own. Then the server's route
    for the endpoint (SageMaker Runtime's InvokeEndpoint), signed in as ``server`` is, which
    passes the request on to the workers and their answer back.
    """
    if _loopback(url) and not _loopback(server.base_url):
        return f"{server.base_url}/endpoints/{quote(name, safe='')}/invocations", server.credentials
    return f"{url.rstrip('/')}/invocations", {}


def answering_variant(headers: Mapping[str, str]) -> str | None:
    """The variant that answered, as the endpoint's port or the server's route names it."""
    return headers.get("x-dockyard-variant") or headers.get("x-amzn-invoked-production-variant")


class Predictor:
    """Send data to an endpoint and get predictions back.

    Args:
        endpoint: The endpoint's name (its URL is looked up) or its URL.
        serializer: Encodes ``predict``'s input (default JSON; :class:`CSVSerializer` too).
        deserializer: Decodes the answer (default: a numpy array of predictions).
        target_variant: Pin a production variant (``X-Dockyard-Target-Variant``).
        api_key: A key of an endpoint that requires one (sent as ``Authorization: Bearer``).
    """

    def __init__(
        self,
        endpoint: str,
        *,
        serializer: Serializer | None = None,
        deserializer: Deserializer | None = None,
        target_variant: str | None = None,
        timeout: float = 60.0,
        api_key: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.serializer: Serializer = serializer or JSONSerializer()
        self.deserializer: Deserializer = deserializer or NumpyDeserializer()
        self.target_variant = target_variant
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        if "://" in endpoint:
            self._url = f"{endpoint.rstrip('/')}/invocations"
        else:
            server = context().server()
            self._url, via = invocations(endpoint, EndpointHandle(endpoint, server).url, server)
            headers = via or headers  # through the server: its credentials, not the key
        self._http = httpx.Client(timeout=timeout, headers=headers)
        self.last_variant: str | None = None

    def predict(self, data: Any) -> Any:
        """Predictions for ``data``; ``last_variant`` names the variant that answered."""
        headers = {"content-type": self.serializer.content_type, "accept": self.deserializer.accept}
        if self.target_variant:
            headers["x-dockyard-target-variant"] = self.target_variant
            headers["x-amzn-sagemaker-target-variant"] = self.target_variant  # via the server
        response = self._http.post(
            self._url, content=self.serializer.serialize(data), headers=headers
        )
        self.last_variant = answering_variant(response.headers)
        if response.status_code >= 400:
            # Workers answer {"code", "message", "request_id"}: rebuild the same error class.
            try:
                body = response.json()
            except ValueError:
                body = {}
            if not isinstance(body, dict) or "code" not in body:
                body = {
                    "code": _CODES.get(response.status_code, "internal"),
                    "message": response.text[:500],
                }
            error = error_from_dict(body)
            if "request_id" in body:
                error.details["request_id"] = body["request_id"]
            raise error
        return self.deserializer.deserialize(
            response.content, response.headers.get("content-type", "")
        )

    def close(self) -> None:
        self._http.close()


_CODES = {
    400: "invalid_argument",
    401: "unauthenticated",
    404: "not_found",
    413: "payload_too_large",
    503: "unavailable",
    504: "deadline_exceeded",
}
