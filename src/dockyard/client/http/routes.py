"""The native API's routes, named once for every client: the SDK, the CLI and the job runner.

Each :class:`Route` is an operation: its method, its path template (the server's, parameter
names and all) and whether it is safe to send again after a lost answer. ``idempotent`` is True
for GET, PUT and DELETE and for the POSTs the server de-duplicates or that change nothing (a
search, a batch with an id, a runner's report at an offset). ``tests/client/http/test_routes.py``
checks the table against the server's own route table, so a renamed route fails a test instead
of a user's call. Import cost: the standard library (and :mod:`dockyard.errors`, which needs
no more).
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import quote

from dockyard.errors import InvalidArgument

__all__ = ["Call", "Route"]


class Call(NamedTuple):
    """A route with its path filled in: what :meth:`dockyard.client.http.Client.call` sends."""

    method: str
    path: str
    idempotent: bool


class Route(NamedTuple):
    """One operation of the native API (``RUN_BATCH(run_id=...)`` fills in its path)."""

    method: str
    template: str
    idempotent: bool = False

    def __call__(self, **parts: object) -> Call:
        """The route for these path parameters, each percent-encoded (``/`` kept).

        Raises:
            InvalidArgument: A parameter is empty. Its path would be another route's: the
                server redirects ``/runs/`` to ``/runs``, and an answer to that redirect
                read as this route's would be no answer at all (``dockyard runs show ''``
                failed with a traceback).
        """
        empty = next((k for k, v in parts.items() if str(v) == ""), None)
        if empty is not None:
            raise InvalidArgument(f"{empty}: must not be empty", field=empty)
        path = self.template.format(**{k: _encoded(v) for k, v in parts.items()})
        return Call(self.method, path, self.idempotent or self.method in _SAFE)


def _encoded(value: object) -> str:
    """``value`` percent-encoded for a path, ``/`` kept, and its ``.`` and ``..`` segments
    with their dots encoded too: URL normalisation (httpx's, the embedded default's
    transport) resolves those away, so that removing alias ``..`` of model ``m`` sent
    ``DELETE /registered-models/m`` and deleted the model. The server decodes them back."""
    segments = quote(str(value)).split("/")
    return "/".join(s.replace(".", "%2E") if s in (".", "..") else s for s in segments)


_SAFE = frozenset({"GET", "PUT", "DELETE", "HEAD"})
_V1 = "/api/v1"

# -- tracking ---------------------------------------------------------------------------------
LIST_EXPERIMENTS = Route("GET", _V1 + "/experiments")
CREATE_EXPERIMENT = Route("POST", _V1 + "/experiments")
GET_EXPERIMENT = Route("GET", _V1 + "/experiments/{experiment_id}")
GET_EXPERIMENT_BY_NAME = Route("GET", _V1 + "/experiments/by-name/{name}")
ENSURE_EXPERIMENT = Route("PUT", _V1 + "/experiments/by-name/{name}")  # get or create
UPDATE_EXPERIMENT = Route("PATCH", _V1 + "/experiments/{experiment_id}")
DELETE_EXPERIMENT = Route("DELETE", _V1 + "/experiments/{experiment_id}")
RESTORE_EXPERIMENT = Route("POST", _V1 + "/experiments/{experiment_id}/restore", True)
CREATE_RUN = Route("POST", _V1 + "/runs")
GET_RUN = Route("GET", _V1 + "/runs/{run_id}")
UPDATE_RUN = Route("PATCH", _V1 + "/runs/{run_id}", True)
DELETE_RUN = Route("DELETE", _V1 + "/runs/{run_id}")
RESTORE_RUN = Route("POST", _V1 + "/runs/{run_id}/restore", True)
SEARCH_RUNS = Route("POST", _V1 + "/runs/search", True)
COMPARE_RUNS = Route("GET", _V1 + "/runs/compare")
LOG_BATCH = Route("POST", _V1 + "/runs/{run_id}/batch", True)  # de-duplicated by batch_id
LOG_INPUTS = Route("POST", _V1 + "/runs/{run_id}/inputs", True)  # a dataset is logged once
LIST_ARTIFACTS = Route("GET", _V1 + "/runs/{run_id}/artifacts")
GET_ARTIFACT = Route("GET", _V1 + "/runs/{run_id}/artifacts/{path}")
PUT_ARTIFACT = Route("PUT", _V1 + "/runs/{run_id}/artifacts/{path}")

# -- registry ---------------------------------------------------------------------------------
LIST_REGISTERED_MODELS = Route("GET", _V1 + "/registered-models")
CREATE_REGISTERED_MODEL = Route("POST", _V1 + "/registered-models")
GET_REGISTERED_MODEL = Route("GET", _V1 + "/registered-models/{name}")
LIST_MODEL_VERSIONS = Route("GET", _V1 + "/registered-models/{name}/versions")
CREATE_MODEL_VERSION = Route("POST", _V1 + "/registered-models/{name}/versions")
DELETE_REGISTERED_MODEL = Route("DELETE", _V1 + "/registered-models/{name}")
GET_MODEL_VERSION = Route("GET", _V1 + "/registered-models/{name}/versions/{version}")
DELETE_MODEL_VERSION = Route("DELETE", _V1 + "/registered-models/{name}/versions/{version}")
SET_APPROVAL = Route("POST", _V1 + "/registered-models/{name}/versions/{version}/approval")
GET_LINEAGE = Route("GET", _V1 + "/registered-models/{name}/versions/{version}/lineage")
SET_ALIAS = Route("PUT", _V1 + "/registered-models/{name}/aliases/{alias}")
DELETE_ALIAS = Route("DELETE", _V1 + "/registered-models/{name}/aliases/{alias}")

# -- data -------------------------------------------------------------------------------------
LIST_DATA = Route("GET", _V1 + "/data")
PUT_DATA = Route("PUT", _V1 + "/data/{path}")

# -- jobs -------------------------------------------------------------------------------------
LIST_JOBS = Route("GET", _V1 + "/jobs")
SUBMIT_TRAINING_JOB = Route("POST", _V1 + "/jobs/training")
SUBMIT_TRANSFORM_JOB = Route("POST", _V1 + "/jobs/transform")
GET_JOB = Route("GET", _V1 + "/jobs/{name}")
STOP_JOB = Route("POST", _V1 + "/jobs/{name}/stop", True)
RESUME_JOB = Route("POST", _V1 + "/jobs/{name}/resume")
GET_JOB_LOGS = Route("GET", _V1 + "/jobs/{name}/logs")
LIST_JOB_OUTPUTS = Route("GET", _V1 + "/jobs/{name}/outputs")
GET_JOB_OUTPUT = Route("GET", _V1 + "/jobs/{name}/outputs/{path}")
# The runner's own calls: each is safe to repeat (the server skips what it has applied).
LAUNCH_JOB = Route("POST", _V1 + "/jobs/{name}/launch", True)
APPEND_JOB_LOG = Route("POST", _V1 + "/jobs/{name}/logs", True)  # at an offset
REPORT_JOB = Route("POST", _V1 + "/jobs/{name}/reports", True)  # at an offset

# -- endpoints --------------------------------------------------------------------------------
LIST_ENDPOINTS = Route("GET", _V1 + "/endpoints")
CREATE_ENDPOINT = Route("POST", _V1 + "/endpoints")
GET_ENDPOINT = Route("GET", _V1 + "/endpoints/{name}")
UPDATE_ENDPOINT = Route("PUT", _V1 + "/endpoints/{name}")
DELETE_ENDPOINT = Route("DELETE", _V1 + "/endpoints/{name}")
GET_ENDPOINT_LOGS = Route("GET", _V1 + "/endpoints/{name}/logs")
CREATE_ENDPOINT_KEY = Route("POST", _V1 + "/endpoints/{name}/keys")
LIST_ENDPOINT_KEYS = Route("GET", _V1 + "/endpoints/{name}/keys")
DELETE_ENDPOINT_KEY = Route("DELETE", _V1 + "/endpoints/{name}/keys/{key_id}")

# -- accounts -------------------------------------------------------------------------------
WHOAMI = Route("GET", _V1 + "/whoami")
CREATE_USER = Route("POST", _V1 + "/users")
LIST_USERS = Route("GET", _V1 + "/users")
UPDATE_USER = Route("PATCH", _V1 + "/users/{name}")
DELETE_USER = Route("DELETE", _V1 + "/users/{name}")
CREATE_TOKEN = Route("POST", _V1 + "/tokens")
LIST_TOKENS = Route("GET", _V1 + "/tokens")
REVOKE_TOKEN = Route("DELETE", _V1 + "/tokens/{token_id}")
CREATE_ACCESS_KEY = Route("POST", _V1 + "/access-keys")
LIST_ACCESS_KEYS = Route("GET", _V1 + "/access-keys")
REVOKE_ACCESS_KEY = Route("DELETE", _V1 + "/access-keys/{access_key_id}")
SET_GRANT = Route("PUT", _V1 + "/grants")
LIST_GRANTS = Route("GET", _V1 + "/grants")

# -- params -----------------------------------------------------------------------------------
PUT_PARAMETER = Route("POST", _V1 + "/params")
LIST_PARAMETERS = Route("GET", _V1 + "/params")  # by path
GET_PARAMETER = Route("GET", _V1 + "/params/value")
GET_PARAMETER_HISTORY = Route("GET", _V1 + "/params/history")
LABEL_PARAMETER = Route("POST", _V1 + "/params/labels", True)  # labels move, never pile up
DELETE_PARAMETER = Route("DELETE", _V1 + "/params")

# -- notifications ----------------------------------------------------------------------------
LIST_TOPICS = Route("GET", _V1 + "/topics")
CREATE_TOPIC = Route("POST", _V1 + "/topics")
DELETE_TOPIC = Route("DELETE", _V1 + "/topics/{name}")
PUBLISH = Route("POST", _V1 + "/topics/{name}/publish")
CREATE_SUBSCRIPTION = Route("POST", _V1 + "/subscriptions")
LIST_SUBSCRIPTIONS = Route("GET", _V1 + "/subscriptions")
GET_SUBSCRIPTION = Route("GET", _V1 + "/subscriptions/{ident}")
DELETE_SUBSCRIPTION = Route("DELETE", _V1 + "/subscriptions/{ident}")
LIST_DELIVERIES = Route("GET", _V1 + "/subscriptions/{ident}/deliveries")
LIST_ATTEMPTS = Route("GET", _V1 + "/subscriptions/{ident}/attempts")
REPLAY_DELIVERIES = Route("POST", _V1 + "/subscriptions/{ident}/replay")
RESEND_CONFIRMATION = Route("POST", _V1 + "/subscriptions/{ident}/resend")
CONFIRM_SUBSCRIPTION = Route("POST", _V1 + "/confirm-subscription")

# -- triggers ---------------------------------------------------------------------------------
CREATE_TRIGGER = Route("POST", _V1 + "/triggers")
LIST_TRIGGERS = Route("GET", _V1 + "/triggers")
GET_TRIGGER = Route("GET", _V1 + "/triggers/{name}")
UPDATE_TRIGGER = Route("PATCH", _V1 + "/triggers/{name}")
DELETE_TRIGGER = Route("DELETE", _V1 + "/triggers/{name}")
FIRE_TRIGGER = Route("POST", _V1 + "/triggers/{name}/fire")  # once per key, with a key
LIST_FIRINGS = Route("GET", _V1 + "/triggers/{name}/firings")

# -- pipelines --------------------------------------------------------------------------------
CREATE_PIPELINE = Route("POST", _V1 + "/pipelines")
LIST_PIPELINES = Route("GET", _V1 + "/pipelines")
VALIDATE_PIPELINE = Route("POST", _V1 + "/pipelines/validate", True)  # changes nothing
GET_PIPELINE = Route("GET", _V1 + "/pipelines/{name}")
UPDATE_PIPELINE = Route("PATCH", _V1 + "/pipelines/{name}")
DELETE_PIPELINE = Route("DELETE", _V1 + "/pipelines/{name}")
# A named start is idempotent: the same name and input again answer the same execution.
START_EXECUTION = Route("POST", _V1 + "/pipelines/{name}/executions")
LIST_EXECUTIONS = Route("GET", _V1 + "/pipelines/{name}/executions")
GET_EXECUTION = Route("GET", _V1 + "/pipelines/{name}/executions/{execution}")
GET_EXECUTION_HISTORY = Route("GET", _V1 + "/pipelines/{name}/executions/{execution}/history")
GET_EXECUTION_DEFINITION = Route("GET", _V1 + "/pipelines/{name}/executions/{execution}/definition")
STOP_EXECUTION = Route("POST", _V1 + "/pipelines/{name}/executions/{execution}/stop", True)
REDRIVE_EXECUTION = Route("POST", _V1 + "/pipelines/{name}/executions/{execution}/redrive")
SEND_TASK_SUCCESS = Route("POST", _V1 + "/pipelines/tasks/success")
SEND_TASK_FAILURE = Route("POST", _V1 + "/pipelines/tasks/failure")
SEND_TASK_HEARTBEAT = Route("POST", _V1 + "/pipelines/tasks/heartbeat", True)

# -- events -----------------------------------------------------------------------------------
LIST_EVENTS = Route("GET", _V1 + "/events")

# -- tuning -----------------------------------------------------------------------------------
CREATE_TUNING_JOB = Route("POST", _V1 + "/tuning-jobs")
LIST_TUNING_JOBS = Route("GET", _V1 + "/tuning-jobs")
GET_TUNING_JOB = Route("GET", _V1 + "/tuning-jobs/{name}")
LIST_TUNING_TRIALS = Route("GET", _V1 + "/tuning-jobs/{name}/trials")
GET_TUNING_IMPORTANCE = Route("GET", _V1 + "/tuning-jobs/{name}/importance")
STOP_TUNING_JOB = Route("POST", _V1 + "/tuning-jobs/{name}/stop", idempotent=True)  # no-op again

# -- monitoring -------------------------------------------------------------------------------
_MON = _V1 + "/monitoring-schedules"
CREATE_MONITORING_SCHEDULE = Route("POST", _MON)
LIST_MONITORING_SCHEDULES = Route("GET", _MON)
GET_MONITORING_SCHEDULE = Route("GET", _MON + "/{name}")
UPDATE_MONITORING_SCHEDULE = Route("PATCH", _MON + "/{name}")
DELETE_MONITORING_SCHEDULE = Route("DELETE", _MON + "/{name}")
RUN_MONITORING_SCHEDULE = Route("POST", _MON + "/{name}/run")
LIST_MONITORING_EXECUTIONS = Route("GET", _MON + "/{name}/executions")
GET_MONITORING_EXECUTION = Route("GET", _MON + "/{name}/executions/{execution_id}")
GET_MONITORING_REPORT = Route("GET", _MON + "/{name}/executions/{execution_id}/report")
LIST_MONITORING_VIOLATIONS = Route("GET", _MON + "/{name}/violations")
UPLOAD_GROUND_TRUTH = Route("POST", _MON + "/{name}/ground-truth")
