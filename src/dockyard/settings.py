"""Typed settings, read from ``DOCKYARD_*`` environment variables once and passed down.

Nothing in Dockyard reads the environment at import time: entry points (the CLI, the server, the
SDK's first call) build one :class:`Settings` and hand it to whatever needs it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, StringConstraints, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from dockyard.errors import InvalidArgument

if TYPE_CHECKING:
    from dockyard.artifacts.roots import AllowedRoots
    from dockyard.connection_guard import ConnectionLimits

__all__ = ["Settings", "decode_key"]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Settings(BaseSettings):
    """Where Dockyard keeps its state and how it serves.

    The embedded default needs nothing set: ``home`` (``~/.dockyard``) holds a SQLite database
    and an artifact folder. A team points ``database_url`` at PostgreSQL and ``artifact_root``
    at S3.
    """

    # Errors do not repeat the values given: some are secrets (DOCKYARD_PARAMS_KEY).
    model_config = SettingsConfigDict(
        env_prefix="DOCKYARD_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    def __init__(self, **values: Any) -> None:
        """Raises :class:`~dockyard.errors.InvalidArgument` naming each bad setting as it was
        given: ``DOCKYARD_PORT`` when it came from the environment, else the field."""
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise _refused(exc, values) from None

    home: Path = Field(default_factory=lambda: Path.home() / ".dockyard")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///<home>/dockyard.db. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )
    artifact_root: str | None = Field(
        default=None, description="Local folder or s3://bucket/prefix; default <home>/artifacts"
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="Endpoint of an S3-compatible server (MinIO, SeaweedFS, ...)"
    )
    uri: str | None = Field(
        default=None,
        description="URL of a Dockyard server for the SDK and CLI; unset means embedded",
    )
    token: SecretStr | None = Field(
        default=None,
        description="API token the SDK and CLI send (else the one `dockyard login` saved)",
    )
    run_id: str | None = Field(
        default=None, description="Run that SDK calls log to when no run is started explicitly"
    )
    executor: str = Field(
        default="local",
        description="what runs jobs' runners: local (processes on this machine), ray (a Ray "
        "cluster, DOCKYARD_RAY_ADDRESS), or an out-of-tree executor as package.module:Class",
    )
    executors: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="more executors the server runs besides DOCKYARD_EXECUTOR, which a job's, "
        "tuning job's or transform's spec may name in its executor field (comma-separated or "
        "a JSON list, e.g. ray); default none",
    )
    gpus: Annotated[list[str], NoDecode] | None = Field(
        default=None,
        description="the GPUs the local executor gives jobs, as CUDA device ids "
        "(comma-separated, e.g. 0,1; empty for none); default the GPUs nvidia-smi lists",
    )
    ray_address: str | None = Field(
        default=None,
        description="the Ray cluster the ray executor runs jobs on (host:port of its head's "
        "GCS, or auto); required with DOCKYARD_EXECUTOR=ray",
    )
    ray_namespace: str = Field(
        default="dockyard",
        min_length=1,
        max_length=64,
        description="the Ray namespace of the ray executor's actors: one per Dockyard server "
        "sharing a cluster",
    )
    ray_server_url: str | None = Field(
        default=None,
        description="the URL runners on the Ray cluster reach this server at; default the "
        "address it binds (reachable from other machines only when it binds one they see)",
    )
    ray_env: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["AWS_*"],
        description="variables of the server's environment passed to runners on the Ray "
        "cluster, as names or shell patterns (the store's credentials); comma-separated or a "
        "JSON list",
    )
    executor_cpus: float | None = Field(
        default=None, gt=0, description="CPUs the local executor shares among jobs; default all"
    )
    job_folder_retention_s: float = Field(
        default=7 * 86_400.0,
        gt=0,
        description="how long a finished job's work folder stays on the executor's disk (its "
        "log, metrics, model and outputs are kept elsewhere; a transform resumed later redoes "
        "its finished shards)",
    )
    executor_warm: bool = Field(
        default=True,
        description="the local executor forks runners from a process that has already "
        "imported them (faster starts); false starts each runner as a new interpreter",
    )
    executor_preload: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="modules the local executor's warm process imports as well, such as the "
        "models' libraries (sklearn,pandas,xgboost): a tiny transform then skips importing "
        "them, at the cost of their memory in the warm process (comma-separated or a JSON "
        "list); default none",
    )
    executor_learn: bool = Field(
        default=True,
        description="the local executor's warm process imports the modules that recent "
        "transforms imported (the models' installed libraries), so the next tiny transform of "
        "the same kind skips importing them, at the cost of their memory in the warm process",
    )
    work_root: Path | None = Field(
        default=None,
        description="where the local executor's runners work (a folder per job, and their "
        "caches in .cache/); default <home>/jobs",
    )
    worker_launcher: str | None = Field(
        default=None,
        description="what starts endpoints' serving workers: local (processes on this "
        "machine), ray (replicas across the Ray cluster's nodes, behind the server's "
        "invocations route), or package.module:Class; default ray with DOCKYARD_EXECUTOR=ray, "
        "otherwise local",
    )
    job_stop_grace_s: float = Field(
        default=10.0, ge=0, description="seconds between SIGTERM and SIGKILL when stopping a job"
    )
    job_checkpoint_sync_s: float = Field(
        default=10.0, gt=0, description="seconds between checkpoint syncs of a running job"
    )
    max_request_mb: int = Field(
        default=32, ge=1, le=4096, description="largest API request body (uploads stream)"
    )
    # 5 GiB (5120 MiB): the largest object one S3 PUT takes, so whatever a client could put in
    # a bucket in one call uploads here too, and model packages and checkpoints fit with room to
    # spare; and a bound on what one request can make the server spool to its temp folder before
    # the store has it. Larger files (say, LLM weights) need it raised.
    max_upload_mb: int = Field(
        default=5120,
        ge=1,
        le=10_485_760,
        description="largest streamed upload (artifacts, job data), in MiB; larger ones get 413",
    )
    data_roots: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="folders and s3://bucket/prefix URIs specs may name besides the artifact "
        "store (comma-separated or a JSON list); default none",
    )
    job_env: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="what a job's process gets from the server's environment: NAME passes the "
        "server's value on, NAME=value sets one (comma-separated or a JSON list)",
    )
    job_user: str | None = Field(
        default=None,
        description="user that jobs' code runs as when the server runs as root; "
        "unset: the server's own user",
    )
    job_opt_ml: bool = Field(
        default=True,
        description="run training code in a mount namespace that shows the job's folder at "
        "/opt/ml, as SageMaker does (false: SM_* and SAGEMAKER_BASE_DIR only)",
    )
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="seconds a request's headers may take from its first byte (slow clients)",
    )
    body_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="seconds a request body may make no progress before 408",
    )
    min_body_rate: float = Field(
        default=500.0,
        ge=0,
        le=1e12,
        description="bytes a second a request body must average once body_timeout_s has "
        "passed (0: no minimum), else 408",
    )
    keepalive_timeout_s: float = Field(
        default=5.0, gt=0, le=3600, description="seconds an idle connection stays open"
    )
    send_timeout_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="seconds a client may read none of an answer before it is cut off",
    )
    max_connections: int = Field(
        default=2048,
        ge=1,
        le=1_000_000,
        description="open connections per server process; past it idle ones are closed, "
        "then new ones refused (keeps idle sockets from using up file descriptors)",
    )
    scheduler: bool = Field(
        default=False, description="run the job scheduler in this process (`dockyard server`)"
    )
    auth: Literal["auto", "on"] = Field(
        default="auto",
        description="auto: sign-in is required once a user exists; on: always required",
    )
    default_permission: Literal["none", "read", "edit"] = Field(
        default="read",
        description="what a signed-in user may do with resources nobody granted them",
    )
    approval_separation: bool = Field(
        default=True,
        description="with accounts, a model version is approved by someone other than its author",
    )
    allowed_hosts: Annotated[list[str] | None, NoDecode] = Field(
        default=None,
        description="Host header values the server answers; default: loopback names and the bound "
        "address, or any host once sign-in is required on a non-loopback address",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="addresses or networks of reverse proxies in front of the server, whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed (* for any); by default none are, "
        "and a client's address is its connection's",
    )
    cors_allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="browser origins (https://ui.example) allowed to call the API cross-site",
    )
    token_ttl_days: float = Field(
        default=90.0, gt=0, description="default lifetime of a new API token, in days"
    )
    session_ttl_h: float = Field(default=12.0, gt=0, description="browser session lifetime")
    access_log: bool = Field(
        default=False,
        description="log every request (address, actor, route, status, time); changes are "
        "always in the event log",
    )
    insecure: bool = Field(
        default=False,
        description="serve a non-loopback address without sign-in (refused otherwise)",
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="let webhook subscriptions reach loopback, private and link-local "
        "addresses (off: a subscription cannot probe the server's own network)",
    )
    public_url: str | None = Field(
        default=None,
        description="the URL people and webhook receivers reach this server at, such as "
        "https://dockyard.example.com: the links of subscription confirmations point there; "
        "default the address it binds (https:// with TLS)",
    )
    notify_confirm_ttl_s: float = Field(
        default=3 * 86_400.0,
        gt=0,
        le=30 * 86_400,
        description="how long a subscription's confirmation token is taken (default 3 days; "
        "a new confirmation message can be sent after)",
    )
    notify_concurrency: int = Field(
        default=32,
        ge=1,
        le=1024,
        description="keep-alive connections a server opens to one webhook host at once",
    )
    notify_timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="seconds one webhook or SMTP send may take"
    )
    notify_retry_horizon_s: float = Field(
        default=86_400.0,
        gt=0,
        description="how long a failing delivery is retried before it is dead-lettered "
        "(default 24 h; a subscription may set its own)",
    )
    notify_retry_base_s: float = Field(
        default=1.0, gt=0, description="first retry's backoff scale (doubles per attempt)"
    )
    notify_retry_max_s: float = Field(
        default=3600.0, gt=0, description="longest wait between two attempts"
    )
    notify_retention_s: float = Field(
        default=7 * 86_400.0,
        gt=0,
        description="how long delivered notifications and their attempts stay in the delivery "
        "log (pending and dead ones stay until delivered, replayed or their subscription goes)",
    )
    trigger_schedule_interval_s: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="longest wait between two checks of schedule triggers' slots (the loop "
        "wakes sooner for a slot due sooner) and of firings a crash left pending",
    )
    trigger_objects_interval_s: float = Field(
        default=30.0,
        gt=0,
        le=86_400,
        description="seconds between two listings of object triggers' prefixes (each lists "
        "its prefix: an S3 LIST call per trigger and pass)",
    )
    pipeline_functions: Annotated[
        dict[
            Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")],
            Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")],
        ],
        NoDecode,
    ] = Field(
        default_factory=dict,
        description="the Python functions pipelines may call as tasks (dockyard:function:NAME, "
        'Lambda ARNs), as JSON: {"score": "mypkg.tasks:score"}; each call runs in a process '
        "of its own with the limits below, JSON in and out",
    )
    pipeline_function_timeout_s: float = Field(
        default=300.0, gt=0, le=86_400, description="longest a pipeline function call may run"
    )
    pipeline_function_memory_mb: int = Field(
        default=2048, ge=64, le=1_048_576, description="address-space limit of a function call"
    )
    pipeline_engine_interval_s: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="longest wait of the pipeline engine between two looks at running tasks "
        "(it wakes at once for its own server's events, timers and callbacks)",
    )
    smtp_host: str | None = Field(default=None, description="SMTP server for email subscriptions")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = Field(default="dockyard@localhost", description="email sender address")
    smtp_starttls: bool = Field(default=False, description="upgrade SMTP with STARTTLS")
    params_key: SecretStr | None = Field(
        default=None,
        description="AES-256-GCM key SecureString parameters are encrypted with: 32 bytes, "
        "base64 (url-safe or standard); unset: SecureString parameters are refused",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=5050, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64, description="server worker processes")
    ssl_certfile: str | None = Field(
        default=None, description="TLS certificate chain: the server serves HTTPS"
    )
    ssl_keyfile: str | None = Field(default=None, description="TLS private key")
    local_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="with TLS: the loopback port (plain HTTP, 127.0.0.1 only) on which the "
        "server's own processes (job runners, jobs' scripts) reach it; default port + 1",
    )
    local_key_file: Path | None = Field(
        default=None,
        description="a file (mode 0600) holding a key that signs in as this machine's user, "
        "as the embedded default does: the SDK's local server is started with one",
    )
    log_level: str = "info"

    @field_validator(
        "allowed_hosts",
        "trusted_proxies",
        "cors_allowed_origins",
        "data_roots",
        "job_env",
        "executor_preload",
        "ray_env",
        "executors",
        "gpus",
        mode="before",
    )
    @classmethod
    def _comma_list(cls, value: object) -> object:
        # DOCKYARD_ALLOWED_HOSTS=dockyard.internal,10.0.0.5 (a JSON list is read too).
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [item.strip() for item in text.split(",") if item.strip()]
        return value

    @field_validator("pipeline_functions", mode="before")
    @classmethod
    def _json_object(cls, value: object) -> object:
        # Decoded here rather than by the settings source, whose failure is a traceback.
        if isinstance(value, str):
            try:
                return json.loads(value) if value.strip() else {}
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"not JSON ({exc.msg} at character {exc.pos}): expected an object such as "
                    '{"score": "mypkg.tasks:score"}'
                ) from None
        return value

    @field_validator("s3_endpoint_url", mode="after")
    @classmethod
    def _endpoint_is_a_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parsed = urlsplit(value.strip())
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("expected the S3 server's URL, such as http://minio:9000")
        return value.strip()

    @field_validator("public_url", mode="after")
    @classmethod
    def _public_url_is_a_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parsed = urlsplit(value.strip())
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("expected the server's URL, such as https://dockyard.example.com")
        if parsed.query or parsed.fragment or parsed.username or parsed.password:
            raise ValueError("a base URL: no query, fragment or credentials")
        return value.strip().rstrip("/")

    @field_validator("params_key", mode="after")
    @classmethod
    def _params_key_is_a_key(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked at start-up, not at the first SecureString: a typo must not wait for a put.
        # The message never repeats the value.
        if value is None or not value.get_secret_value():
            return None
        decode_key(value.get_secret_value())
        return value

    @field_validator("data_roots", mode="after")
    @classmethod
    def _roots_parse(cls, value: list[str]) -> list[str]:
        from dockyard.artifacts.roots import parse_root
        from dockyard.errors import InvalidArgument

        for root in value:
            try:
                parse_root(root)
            except InvalidArgument as exc:
                raise ValueError(exc.message) from exc
        return value

    @field_validator("job_env", mode="after")
    @classmethod
    def _env_entries(cls, value: list[str]) -> list[str]:
        for entry in value:
            name = entry.split("=", 1)[0]
            if not _ENV_NAME.fullmatch(name):
                raise ValueError(f"{entry!r}: expected NAME or NAME=value")
        return value

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("work_root", mode="after")
    @classmethod
    def _expand_work_root(cls, value: Path | None) -> Path | None:
        return value.expanduser().absolute() if value is not None else None

    @property
    def resolved_work_root(self) -> Path:
        """Where the local executor's runners work, defaulting to ``home/jobs``."""
        return self.work_root or self.home / "jobs"

    @property
    def resolved_database_url(self) -> str:
        """The metadata database URL, defaulting to SQLite in ``home``."""
        return self.database_url or f"sqlite:///{self.home / 'dockyard.db'}"

    @property
    def tls(self) -> bool:
        """Whether the server serves HTTPS (as uvicorn decides: either file given)."""
        return bool(self.ssl_certfile or self.ssl_keyfile)

    @property
    def resolved_local_port(self) -> int | None:
        """The local listener's port: set, or the public port + 1; None without TLS."""
        if not self.tls:
            return None
        return self.local_port or self.port + 1

    @property
    def server_url(self) -> str:
        """The URL local processes (job runners, jobs' scripts) use to reach this server.

        With TLS, the local listener: plain HTTP on loopback. A job's process cannot be given
        the public ``https://`` address instead, because it reaches the server at
        ``127.0.0.1``, a name few certificates carry, and it would need to trust the
        certificate's issuer; the local listener needs neither and stays off the network.
        """
        local = self.resolved_local_port
        if local is not None:
            return f"http://127.0.0.1:{local}"
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        if ":" in host and not host.startswith("["):  # an IPv6 address: bracketed in a URL
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def resolved_public_url(self) -> str:
        """Where people and webhook receivers reach this server: ``public_url``, or the
        address it binds (``https://`` with TLS; a wildcard bind names this machine's
        loopback, reachable from here alone: set ``public_url`` for a shared server)."""
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def allowed_roots(self) -> AllowedRoots:
        """The roots specs may name on this server: the artifact store and the data roots."""
        from dockyard.artifacts.roots import AllowedRoots

        return AllowedRoots(self.resolved_artifact_root, self.data_roots)

    def connection_limits(self) -> ConnectionLimits:
        """The limits every connection is held to: the server's own, its endpoints' workers'
        and their ports'."""
        from dockyard.connection_guard import ConnectionLimits

        return ConnectionLimits(
            header_timeout_s=self.header_timeout_s,
            body_timeout_s=self.body_timeout_s,
            min_body_rate=self.min_body_rate,
            keepalive_timeout_s=self.keepalive_timeout_s,
            send_timeout_s=self.send_timeout_s,
            max_connections=self.max_connections,
        )

    @property
    def resolved_artifact_root(self) -> str:
        """The artifact root (folder path or ``s3://`` URI), defaulting to ``home/artifacts``."""
        return self.artifact_root or str(self.home / "artifacts")


def _refused(error: ValidationError, given: dict[str, Any]) -> InvalidArgument:
    problems = []
    for problem in error.errors(include_url=False):
        field = str(problem["loc"][0]) if problem["loc"] else ""
        env = f"DOCKYARD_{field.upper()}"
        problems.append(
            f"{env if field not in given and env in os.environ else field}: {problem['msg']}"
        )
    return InvalidArgument(
        f"invalid setting{'s' if len(problems) > 1 else ''}: {'; '.join(problems)}"
    )


def decode_key(text: str) -> bytes:
    """The 32 key bytes of ``DOCKYARD_PARAMS_KEY`` (base64, url-safe or standard)."""
    raw = text.strip()
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_", validate=False)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise ValueError(
            "DOCKYARD_PARAMS_KEY must be 32 random bytes in base64 (make one with: python -c "
            '"import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())")'
        )
    return key
