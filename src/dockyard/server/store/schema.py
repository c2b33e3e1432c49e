"""Table definitions (SQLAlchemy Core), the single source the migrations and repositories share.

Times are integer milliseconds since the epoch (as MLflow stores them), so values cross the MLflow
API unchanged. Metric values are stored with an ``is_nan`` flag because SQLite turns NaN into NULL.

One module on purpose, though it is long: Alembic's autogenerate and the migration check compare
the database against a single ``MetaData``, and foreign keys cross the sections (runs, jobs,
registry, endpoints, pipelines, tuning all point at the accounts and the event log). Each
concept is one section below, marked ``# -- name``, in the order the migrations added them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "applied_batches",
    "datasets",
    "deliveries",
    "delivery_attempts",
    "endpoint_events",
    "endpoint_keys",
    "endpoints",
    "event_cursors",
    "events",
    "experiment_tags",
    "experiments",
    "grants",
    "job_events",
    "jobs",
    "latest_metrics",
    "logged_model_metrics",
    "logged_model_params",
    "logged_model_tags",
    "logged_models",
    "metadata",
    "metrics",
    "model_aliases",
    "model_version_approvals",
    "model_version_tags",
    "model_versions",
    "monitoring_executions",
    "monitoring_schedules",
    "parameter_labels",
    "parameter_versions",
    "parameters",
    "params",
    "personal_areas",
    "pipeline_executions",
    "pipeline_history_chunks",
    "pipeline_state_machines",
    "pipeline_tasks",
    "pipeline_timers",
    "registered_model_tags",
    "registered_models",
    "run_inputs",
    "run_models",
    "runs",
    "sessions",
    "subscriptions",
    "tags",
    "tokens",
    "topics",
    "trigger_firings",
    "triggers",
    "tuning_jobs",
    "tuning_trials",
    "users",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only aliases the rowid for a column declared exactly INTEGER PRIMARY KEY.
_BigId = BigInteger().with_variant(Integer(), "sqlite")

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", _BigId, primary_key=True, autoincrement=True),
    Column("name", String(500), nullable=False, unique=True),
    Column("artifact_location", String(1000), nullable=False),
    Column("lifecycle_stage", String(16), nullable=False, server_default="active"),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
)

experiment_tags = Table(
    "experiment_tags",
    metadata,
    Column(
        "experiment_id",
        _BigId,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("experiment_id", "key"),
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("experiment_id", _BigId, ForeignKey("experiments.experiment_id"), nullable=False),
    Column("name", String(250), nullable=False),
    Column("user_id", String(256), nullable=False, server_default=""),
    Column("status", String(16), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("lifecycle_stage", String(16), nullable=False, server_default="active"),
    Column("deleted_time", BigInteger, nullable=True),
    Column("artifact_uri", String(1000), nullable=False),
    Column("parent_run_id", String(32), nullable=True),
    # The account that made it (``user_id`` is its name, or what a client said without
    # accounts): it alone changes the run with ``edit``; a name may be given to a new account.
    Column("owner_id", BigInteger, nullable=True),
    Index(None, "experiment_id", "start_time"),
    Index(None, "parent_run_id"),
)

params = Table(
    "params",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("run_id", "key"),
)

tags = Table(
    "tags",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("run_id", "key"),
)

# The full history. No foreign key: the hot insert path skips the check, and runs are never
# hard-deleted while metrics remain (garbage collection deletes both). A point identical in every
# field is stored once (as in MLflow, whose client retries a write whose answer was lost); the
# unique index doubles as the history index, so checking costs no second index on the hot path.
metrics = Table(
    "metrics",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("run_id", String(32), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Float(precision=53), nullable=False),
    Column("is_nan", Boolean, nullable=False, server_default="0"),
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False, server_default="0"),
    Index(None, "run_id", "key", "step", "timestamp", "value", "is_nan", unique=True),
)

# One row per (run, key): the value with the highest (step, timestamp, value), as MLflow defines
# "latest". Search filters and ordering read only this table.
latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Float(precision=53), nullable=False),
    Column("is_nan", Boolean, nullable=False, server_default="0"),
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False),
    PrimaryKeyConstraint("run_id", "key"),
    Index(None, "key", "value"),
)

datasets = Table(
    "datasets",
    metadata,
    Column("dataset_id", String(36), primary_key=True),
    Column("experiment_id", _BigId, ForeignKey("experiments.experiment_id"), nullable=False),
    Column("name", String(500), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("source_type", String(36), nullable=False),
    Column("source", Text, nullable=False),
    Column("schema", Text, nullable=True),
    Column("profile", Text, nullable=True),
    UniqueConstraint("experiment_id", "name", "digest"),
)

run_inputs = Table(
    "run_inputs",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("dataset_id", String(36), ForeignKey("datasets.dataset_id"), nullable=False),
    Column("tags", Text, nullable=False, server_default="{}"),
    PrimaryKeyConstraint("run_id", "dataset_id"),
)

# Idempotency keys of metric batches already applied: a client that retries after a lost
# response must not log the same points twice.
applied_batches = Table(
    "applied_batches",
    metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("run_id", String(32), nullable=False),
    Column("created_time", BigInteger, nullable=False),
)

# -- logged models: MLflow 3's models inside an experiment ------------------------------------

# A model a run (or a user) logged into an experiment, before any registration: its files live
# under ``<experiment>/models/<model_id>/artifacts`` in the artifact store. Ids are MLflow's
# ``m-<32 hex>``, so ``models:/<model_id>`` URIs name them on either server.
logged_models = Table(
    "logged_models",
    metadata,
    Column("model_id", String(36), primary_key=True),
    Column("experiment_id", _BigId, ForeignKey("experiments.experiment_id"), nullable=False),
    Column("name", String(500), nullable=False),
    Column("artifact_location", String(1000), nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_message", Text, nullable=True),
    Column("model_type", String(500), nullable=True),
    Column("source_run_id", String(32), nullable=True),
    # Who created it: with accounts, only they (or an experiment manager) may change it; the
    # account by id, as runs keep theirs.
    Column("creator", String(256), nullable=False, server_default=""),
    Column("lifecycle_stage", String(16), nullable=False, server_default="active"),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("owner_id", BigInteger, nullable=True),
    Index(None, "experiment_id", "creation_time"),
    Index(None, "source_run_id"),
)

logged_model_params = Table(
    "logged_model_params",
    metadata,
    Column(
        "model_id",
        String(36),
        ForeignKey("logged_models.model_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("model_id", "key"),
)

logged_model_tags = Table(
    "logged_model_tags",
    metadata,
    Column(
        "model_id",
        String(36),
        ForeignKey("logged_models.model_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("model_id", "key"),
)

# Metric points a run logged against a model (MLflow's metrics with a ``model_id``). They are
# also in the run's own history; this table answers "what did this model score" and orders a
# model search. A point is stored once, as in ``metrics``.
logged_model_metrics = Table(
    "logged_model_metrics",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column(
        "model_id",
        String(36),
        ForeignKey("logged_models.model_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("run_id", String(32), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Float(precision=53), nullable=False),
    Column("is_nan", Boolean, nullable=False, server_default="0"),
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False, server_default="0"),
    Column("dataset_name", String(500), nullable=True),
    Column("dataset_digest", String(64), nullable=True),
    Index(None, "model_id", "key", "step", "timestamp", "run_id", unique=True),
)

# The models a run produced (``output``, with the step it was logged at) or consumed (``input``).
run_models = Table(
    "run_models",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("model_id", String(36), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("step", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("run_id", "model_id", "direction"),
    Index(None, "model_id"),
)

# -- jobs: the durable queue --------------------------------------------------------------------

jobs = Table(
    "jobs",
    metadata,
    Column("job_id", String(32), primary_key=True),
    Column("name", String(63), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("spec", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("secondary_status", String(32), nullable=False),
    Column("failure_reason", Text, nullable=True),
    Column("exit_code", Integer, nullable=True),
    Column("run_id", String(32), nullable=True),
    Column("model_uri", String(1000), nullable=True),
    Column("cpus", Float, nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("start_time", BigInteger, nullable=True),
    Column("end_time", BigInteger, nullable=True),
    Column("queue_deadline", BigInteger, nullable=True),
    Column("stop_requested", Boolean, nullable=False, server_default="0"),
    Column("executor", String(16), nullable=True),
    Column("handle", Text, nullable=True),
    Column("events_offset", BigInteger, nullable=False, server_default="0"),
    Column("progress", Text, nullable=True),
    # Who submitted the job (its name, and the account by id: a deleted name may be given to
    # a new account) and the experiment its run lives in: permissions follow them.
    Column("created_by", String(256), nullable=True),
    Column("owner_id", BigInteger, nullable=True),
    Column("experiment_id", BigInteger, nullable=True),
    # The parameters its spec referenced, as resolved at submit: [{name, version, type, field}]
    # (JSON); a SecureString's clear value is never here, nor in ``spec``.
    Column("parameters", Text, nullable=True),
    Index(None, "status", "created_time"),
)

job_events = Table(
    "job_events",
    metadata,
    Column("job_id", String(32), ForeignKey("jobs.job_id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("time", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("secondary_status", String(32), nullable=False),
    Column("message", Text, nullable=False, server_default=""),
    PrimaryKeyConstraint("job_id", "seq"),
)

# -- registry: registered models, their versions, aliases and tags ------------------------------

registered_models = Table(
    "registered_models",
    metadata,
    # An internal id, not the name: artifact keys and foreign keys survive a rename.
    Column("model_id", String(32), primary_key=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("description", Text, nullable=False, server_default=""),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    # Version numbers are handed out from this counter, so a deleted version's number is never
    # reused (a URI that named it can never silently name another package).
    Column("next_version", Integer, nullable=False, server_default="1"),
)

registered_model_tags = Table(
    "registered_model_tags",
    metadata,
    Column(
        "model_id",
        String(32),
        ForeignKey("registered_models.model_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("model_id", "key"),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column(
        "model_id",
        String(32),
        ForeignKey("registered_models.model_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("version", Integer, nullable=False),
    Column("source", String(1000), nullable=False),
    Column("run_id", String(32), nullable=True),
    # The logged model it was registered from (``models:/m-...``), if any.
    Column("logged_model_id", String(36), nullable=True),
    Column("storage_location", String(1000), nullable=False),
    Column("digest", String(71), nullable=False),
    Column("flavor", String(64), nullable=False),
    Column("library_version", String(64), nullable=True),
    Column("signature", Text, nullable=True),
    Column("metrics", Text, nullable=False, server_default="{}"),
    Column("sealed_by_registry", Boolean, nullable=False, server_default="0"),
    Column("description", Text, nullable=False, server_default=""),
    Column("status", String(32), nullable=False),
    # MLflow's deprecated stages (None, Staging, Production, Archived), kept for clients that
    # still move versions between them; aliases are the way forward.
    Column("stage", String(20), nullable=False, server_default="None"),
    Column("approval_status", String(32), nullable=False),
    Column("approval_user", String(256), nullable=True),
    Column("approval_time", BigInteger, nullable=True),
    Column("approval_comment", Text, nullable=True),
    Column("created_by", String(256), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    PrimaryKeyConstraint("model_id", "version"),
    Index(None, "run_id"),
)

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("model_id", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("model_id", "version", "key"),
    ForeignKeyConstraint(
        ["model_id", "version"],
        ["model_versions.model_id", "model_versions.version"],
        ondelete="CASCADE",
    ),
)

# Every approval decision, appended: the version row keeps only the latest one.
model_version_approvals = Table(
    "model_version_approvals",
    metadata,
    Column("model_id", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("user", String(256), nullable=False),
    Column("time", BigInteger, nullable=False),
    Column("comment", Text, nullable=True),
    PrimaryKeyConstraint("model_id", "version", "seq"),
    ForeignKeyConstraint(
        ["model_id", "version"],
        ["model_versions.model_id", "model_versions.version"],
        ondelete="CASCADE",
    ),
)

# One row per alias: moving an alias is a single-row upsert, so readers see the old version or
# the new one, never none.
model_aliases = Table(
    "model_aliases",
    metadata,
    Column("model_id", String(32), nullable=False),
    Column("alias", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    PrimaryKeyConstraint("model_id", "alias"),
    ForeignKeyConstraint(
        ["model_id", "version"],
        ["model_versions.model_id", "model_versions.version"],
        ondelete="CASCADE",
    ),
)

# -- endpoints: the control plane of real-time serving ------------------------------------------

endpoints = Table(
    "endpoints",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("config", Text, nullable=False),
    Column("pending_config", Text, nullable=True),
    Column("port", Integer, nullable=False, unique=True),
    Column("failure_reason", Text, nullable=True),
    Column("traffic", Text, nullable=False, server_default="{}"),
    Column("created_time", BigInteger, nullable=False),
    Column("updated_time", BigInteger, nullable=False),
)

endpoint_events = Table(
    "endpoint_events",
    metadata,
    Column("name", String(63), ForeignKey("endpoints.name", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("time", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("message", Text, nullable=False, server_default=""),
    PrimaryKeyConstraint("name", "seq"),
)

# Keys an endpoint's data plane accepts: only digests (see dockyard.api.serving._keys); the key
# itself is shown once, when made.
endpoint_keys = Table(
    "endpoint_keys",
    metadata,
    Column("key_id", String(12), primary_key=True),
    Column(
        "endpoint",
        String(63),
        ForeignKey("endpoints.name", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("sha256", String(64), nullable=False),
    Column("created_time", BigInteger, nullable=False),
)

# -- identity and permissions ---------------------------------------------------------------------

users = Table(
    "users",
    metadata,
    Column("user_id", _BigId, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    # scrypt$<n>$<r>$<p>$<salt>$<hash>; NULL for accounts that only hold tokens (robots).
    Column("password_hash", String(256), nullable=True),
    Column("role", String(16), nullable=False),
    Column("disabled", Boolean, nullable=False, server_default="0"),
    Column("created_time", BigInteger, nullable=False),
    Column("updated_time", BigInteger, nullable=False),
)

# API tokens are shown once; only a digest of their secret part is kept. A job's token names
# its job, and is revoked when the job ends.
tokens = Table(
    "tokens",
    metadata,
    Column("token_id", String(16), primary_key=True),
    Column("user_id", _BigId, ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("scopes", Text, nullable=False, server_default="[]"),
    Column("job_id", String(32), nullable=True),
    Column("created_time", BigInteger, nullable=False),
    Column("expires_time", BigInteger, nullable=True),
    Column("revoked_time", BigInteger, nullable=True),
    Index(None, "user_id"),
)

# AWS-style access keys: SigV4 signs with the secret itself (an HMAC), so the server keeps the
# secret as given, not a digest (see dockyard.server.auth._access_keys).
access_keys = Table(
    "access_keys",
    metadata,
    Column("key_id", String(24), primary_key=True),
    Column("user_id", _BigId, ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("secret", String(64), nullable=False),
    Column("read_only", Boolean, nullable=False, server_default="0"),
    Column("created_time", BigInteger, nullable=False),
    Column("expires_time", BigInteger, nullable=True),
    Column("revoked_time", BigInteger, nullable=True),
    Index(None, "user_id"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("session_id", String(16), primary_key=True),
    Column("user_id", _BigId, ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("csrf_hash", String(64), nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("expires_time", BigInteger, nullable=False),
)

# Permission levels on one resource (an experiment, a registered model, an endpoint) for one
# user ("<user_id>") or for every signed-in user ("*"). The creator of a resource gets "manage".
grants = Table(
    "grants",
    metadata,
    Column("kind", String(32), nullable=False),
    Column("resource_id", String(256), nullable=False),
    Column("principal", String(32), nullable=False),
    Column("level", String(8), nullable=False),
    PrimaryKeyConstraint("kind", "resource_id", "principal"),
)

# Every personal area of the artifact store ever handed out (``data/users/<area>/``,
# ``checkpoints/<area>/``), and the account it belongs to. An area outlives its account, as
# the files in it do: ``user_id`` turns NULL when the account is deleted, and the area is never
# handed out again, so a new account under a deleted name starts with an empty one. ``area`` is
# the account's name when the name had none yet, ``<name>-<n>`` otherwise.
personal_areas = Table(
    "personal_areas",
    metadata,
    Column("area", String(80), primary_key=True),
    Column("user_id", _BigId, nullable=True, unique=True),
    Column("created_time", BigInteger, nullable=False),
    Column("retired_time", BigInteger, nullable=True),
)

# -- the event log ------------------------------------------------------------------------------

# Every state change, appended in the transaction that makes it. ``scope`` names the resource
# whose permissions decide who may read the event ("experiment:12", "registered_model:<id>",
# "endpoint:wine", "auth"). Ids are handed out in commit order (see dockyard.server.events), so a
# consumer that remembers the last id it read misses nothing.
events = Table(
    "events",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("time", BigInteger, nullable=False),
    Column("type", String(64), nullable=False),
    Column("resource_type", String(32), nullable=False),
    Column("resource_id", String(256), nullable=False),
    Column("scope", String(300), nullable=False),
    Column("actor", String(256), nullable=False),
    Column("source", String(64), nullable=False, server_default=""),
    Column("outcome", String(16), nullable=False, server_default="ok"),
    Column("body", Text, nullable=False, server_default="{}"),
    # Which credential signed the actor in ("token <id>", "access key <id>", "password"...).
    Column("credential", String(80), nullable=False, server_default=""),
    Index(None, "type", "id"),
    Index(None, "resource_type", "resource_id", "id"),
    Index(None, "actor", "id"),
    Index(None, "time"),
)

# Where each consumer of the event log (webhook delivery, triggers, ...) has read up to.
event_cursors = Table(
    "event_cursors",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_time", BigInteger, nullable=False),
)

# -- notifications ------------------------------------------------------------------------------

# Custom topics (``dy.publish``); built-in topics are the event types themselves.
# ``owner_id``: the account that created it, which alone (with admins) publishes to it.
topics = Table(
    "topics",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("description", String(500), nullable=False, server_default=""),
    Column("created_by", String(256), nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("owner_id", BigInteger, nullable=True),
)

# Where matching events go. ``secret`` signs webhook bodies, so it must stay readable: it is
# stored as given (there is no encryption-key setting) and never returned after creation.
# ``after_event_id``: the newest event when it was made; it receives only later ones.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("subscription_id", String(16), primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("events", String(500), nullable=False),
    Column("protocol", String(16), nullable=False),
    Column("endpoint", String(2000), nullable=False),
    Column("format", String(16), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("filter", Text, nullable=False, server_default="{}"),
    Column("retry_horizon_s", Float, nullable=False),
    Column("after_event_id", BigInteger, nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("created_time", BigInteger, nullable=False),
    # ``confirmed`` or ``pending_confirmation``: a pending one is sent its confirmation
    # message and nothing else. Subscriptions made before confirmations existed stay confirmed.
    Column("state", String(32), nullable=False, server_default="confirmed"),
    # While pending: the token its confirmation message carries (kept to send it again on a
    # retry, as the secret is kept to sign), and when it stops being taken.
    Column("confirm_token", String(128), nullable=True),
    Column("confirm_expires_time", BigInteger, nullable=True),
    # Once confirmed by a token: that token's SHA-256, so using it again is told apart from
    # a wrong one.
    Column("used_token_digest", String(64), nullable=True),
    Column("confirmed_time", BigInteger, nullable=True),
    Column("confirmed_by", String(256), nullable=True),
)

# The durable delivery queue: one row per (subscription, event), filled by the fan-out
# consumer in the transaction that moves its cursor. ``status``: pending, delivered, dead.
# ``horizon_time``: retries stop (dead) past it; replay moves it.
deliveries = Table(
    "deliveries",
    metadata,
    Column("delivery_id", _BigId, primary_key=True, autoincrement=True),
    Column(
        "subscription_id",
        String(16),
        ForeignKey("subscriptions.subscription_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_id", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_time", BigInteger, nullable=False),
    Column("horizon_time", BigInteger, nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("updated_time", BigInteger, nullable=False),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", String(1000), nullable=True),
    # ``event``: the event itself; ``confirmation``: the subscription's confirmation message
    # (its event is the ``subscription.confirmation_sent`` that queued it).
    Column("kind", String(16), nullable=False, server_default="event"),
    UniqueConstraint("subscription_id", "event_id"),
    Index(None, "status", "next_attempt_time"),
    Index(None, "subscription_id", "status", "delivery_id"),
)

# The delivery log: every attempt, with its answer and how long it took.
delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("attempt_id", _BigId, primary_key=True, autoincrement=True),
    Column(
        "delivery_id",
        _BigId,
        ForeignKey("deliveries.delivery_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("subscription_id", String(16), nullable=False),
    Column("event_id", BigInteger, nullable=False),
    Column("time", BigInteger, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("latency_ms", Float, nullable=False),
    Column("error", String(1000), nullable=True),
    Index(None, "subscription_id", "attempt_id"),
    Index(None, "delivery_id"),
)

# -- parameters: versioned, hierarchical configuration (dockyard.server.params)
# -------------------------

# One row per parameter name (``/team/model/threshold``, up to 1011 characters as in AWS SSM):
# its latest version and type. ``owner_id`` is the account that created it, which may change it
# (grants name paths up to 256 characters; names may be longer, so ownership is a column).
parameters = Table(
    "parameters",
    metadata,
    Column("name", String(1011), primary_key=True),
    Column("type", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("owner_id", BigInteger, nullable=True),
    Column("created_by", String(256), nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("updated_by", String(256), nullable=False),
    Column("updated_time", BigInteger, nullable=False),
)

# Every version ever put. ``value`` is the clear text of a String or StringList, and for a
# SecureString the AES-GCM ciphertext (``dy1:<key id>:<base64>``): never its clear text.
parameter_versions = Table(
    "parameter_versions",
    metadata,
    Column("name", String(1011), ForeignKey("parameters.name", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", String(16), nullable=False),
    Column("value", Text, nullable=False),
    Column("description", String(1024), nullable=False, server_default=""),
    Column("created_by", String(256), nullable=False),
    Column("created_time", BigInteger, nullable=False),
    PrimaryKeyConstraint("name", "version"),
)

# Labels on versions (``/team/model/threshold:prod``): a label names one version of a parameter
# at a time; labelling another version moves it.
parameter_labels = Table(
    "parameter_labels",
    metadata,
    Column("name", String(1011), ForeignKey("parameters.name", ondelete="CASCADE"), nullable=False),
    Column("label", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    PrimaryKeyConstraint("name", "label"),
)

# -- triggers: work started by schedules, pushes, new objects and events (dockyard.server.triggers)
# ------

# One row per trigger. ``config`` is its source (cron, git filters, prefix, event patterns) and
# ``target`` the work it starts, both JSON. ``secret`` verifies pushes and object notifications
# (HMAC keys must stay readable, as a subscription's; it is never returned after creation).
# ``state`` is the durable cursor of its source: the next schedule slot, the last object key.
# ``last_fired_time`` is moved by a conditional update in the transaction that claims a
# firing, so the cooldown holds across servers. ``after_event_id``: events before it never fire.
triggers = Table(
    "triggers",
    metadata,
    Column("trigger_id", String(16), primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("config", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("secret", String(200), nullable=True),
    Column("enabled", Boolean, nullable=False, server_default="1"),
    Column("cooldown_s", Float, nullable=False, server_default="0"),
    Column("state", Text, nullable=False, server_default="{}"),
    Column("last_fired_time", BigInteger, nullable=True),
    Column("after_event_id", BigInteger, nullable=False, server_default="0"),
    Column("owner_id", BigInteger, nullable=True),
    Column("created_by", String(256), nullable=False),
    Column("created_time", BigInteger, nullable=False),
)

# One row per (trigger, cause): the unique key is what makes a cause fire once, however many
# servers see it and however often. ``status``: pending (claimed, work not yet submitted),
# fired, failed, skipped (cooldown). ``job``: the work started, named from the cause.
trigger_firings = Table(
    "trigger_firings",
    metadata,
    Column("firing_id", _BigId, primary_key=True, autoincrement=True),
    Column(
        "trigger_id",
        String(16),
        ForeignKey("triggers.trigger_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("cause_key", String(300), nullable=False),
    Column("cause", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("job", String(63), nullable=True),
    Column("error", String(1000), nullable=True),
    Column("created_time", BigInteger, nullable=False),
    Column("updated_time", BigInteger, nullable=False),
    UniqueConstraint("trigger_id", "cause_key"),
    Index(None, "trigger_id", "firing_id"),
    Index(None, "status", "updated_time"),
)

# -- pipelines: state machines in the States Language and their executions (server.pipelines) ---

# One row per state machine. ``definition`` is the text as given (its JSON, kept verbatim so
# Describe answers what was sent); ``revision_id`` changes with every update.
pipeline_state_machines = Table(
    "pipeline_state_machines",
    metadata,
    Column("arn", String(300), primary_key=True),
    Column("name", String(80), nullable=False, unique=True),
    Column("definition", Text, nullable=False),
    Column("role_arn", String(300), nullable=False, server_default=""),
    Column("type", String(16), nullable=False),
    Column("description", String(256), nullable=False, server_default=""),
    Column("revision_id", String(36), nullable=False),
    Column("owner_id", BigInteger, nullable=True),
    Column("created_by", String(256), nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("updated_time", BigInteger, nullable=False),
    Column("tags", Text, nullable=False, server_default="{}"),  # JSON object: key -> value
)

# One row per execution. ``snapshot`` is the interpreter's state (JSON) after the last
# transition, written with that transition's history events and effects in one transaction:
# a restart resumes from it. ``definition`` is the one the execution started with (an update
# of its state machine changes later executions only). ``next_event_id`` numbers history.
pipeline_executions = Table(
    "pipeline_executions",
    metadata,
    Column("arn", String(400), primary_key=True),
    Column("state_machine_arn", String(300), nullable=False),
    Column("name", String(80), nullable=False),
    Column("status", String(16), nullable=False),
    Column("input", Text, nullable=False),
    Column("output", Text, nullable=True),
    Column("error", String(256), nullable=True),
    Column("cause", Text, nullable=True),
    Column("snapshot", Text, nullable=False),
    Column("definition", Text, nullable=False),
    Column("revision_id", String(36), nullable=False),
    Column("redrive_count", Integer, nullable=False, server_default="0"),
    Column("redrive_time", BigInteger, nullable=True),
    Column("next_event_id", BigInteger, nullable=False, server_default="1"),
    Column("owner_id", BigInteger, nullable=True),
    Column("created_by", String(256), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("stop_time", BigInteger, nullable=True),
    Index(None, "state_machine_arn", "start_time"),
    # ListExecutions with a status filter: RUNNING among a machine's many ended executions
    Index(None, "state_machine_arn", "status", "start_time"),
)

# An execution's history in chunks: the events one transition appends (up to 100 of them) are
# one row, not one row each, so a transition writes one history row and one index entry.
# ``events`` is a JSON array of ``[event id, previous event id, type, time (ms), details]``,
# the details being the event's detail object under AWS's key; ``first_event_id`` and
# ``last_event_id`` bound the ids the chunk holds.
pipeline_history_chunks = Table(
    "pipeline_history_chunks",
    metadata,
    Column("execution_arn", String(400), nullable=False),
    Column("first_event_id", BigInteger, nullable=False),
    Column("last_event_id", BigInteger, nullable=False),
    Column("events", Text, nullable=False),
    PrimaryKeyConstraint("execution_arn", "first_event_id"),
)

# One row per task the interpreter asked for, keyed by ``<execution arn>:<task id>``: inserting
# it is the claim, so a task starts once however often the engine restarts. ``status``:
# scheduled (to start), started (``handle``: the job, endpoint ... it waits on), cancelling,
# done (its completion fed back). ``heartbeat_deadline``: a callback task not heard from by
# then fails with States.HeartbeatTimeout.
pipeline_tasks = Table(
    "pipeline_tasks",
    metadata,
    Column("task_key", String(500), primary_key=True),
    Column("execution_arn", String(400), nullable=False),
    Column("task_id", String(200), nullable=False),
    Column("state_name", String(200), nullable=False),
    Column("resource", String(500), nullable=False),
    Column("payload", Text, nullable=False),
    Column("task_token", String(500), nullable=True, unique=True),
    Column("status", String(16), nullable=False),
    Column("handle", Text, nullable=True),
    Column("heartbeat_s", Float, nullable=True),
    Column("heartbeat_deadline", BigInteger, nullable=True),
    Column("starts", Integer, nullable=False, server_default="0"),
    Column("created_time", BigInteger, nullable=False),
    Column("started_time", BigInteger, nullable=True),
    Index(None, "status", "created_time"),
    Index(None, "execution_arn"),
    Index(None, "heartbeat_deadline"),
)

# Wait states, task timeouts, retry back-offs: due times the engine loop fires.
pipeline_timers = Table(
    "pipeline_timers",
    metadata,
    Column("execution_arn", String(400), nullable=False),
    Column("timer_id", String(200), nullable=False),
    Column("due_time", BigInteger, nullable=False),
    PrimaryKeyConstraint("execution_arn", "timer_id"),
    Index(None, "due_time"),
)

# -- tuning: hyperparameter tuning jobs and their trials (dockyard.server.tuning) ------------------

# One row per tuning job. ``spec`` is its TuningJobSpec (JSON); ``run_id`` the run its trials'
# runs nest under. ``stop_requested`` is set by a stop and acted on by the tuning loop.
tuning_jobs = Table(
    "tuning_jobs",
    metadata,
    Column("tuning_id", String(16), primary_key=True),
    Column("name", String(32), nullable=False, unique=True),
    Column("spec", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("run_id", String(32), nullable=True),
    Column("experiment_id", String(32), nullable=True),
    Column("owner_id", BigInteger, nullable=True),
    Column("created_by", String(256), nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("stop_requested", Boolean, nullable=False, server_default="0"),
    Column("failure_reason", String(1000), nullable=True),
    Column("completion_reason", String(1000), nullable=True),
    Index(None, "status"),
)

# One row per trial, numbered from 0 per tuning job: the primary key is what keeps a trial from
# being proposed twice, across restarts. A row is written (Pending, with its hyperparameters)
# before its job is submitted under a name derived from it, so a crash in between submits the
# same job again instead of losing or repeating the trial. ``params`` are the hyperparameters
# as typed values; ``system_attrs`` what the pruner keeps per trial (successive halving's
# rungs); ``pruned``: a stop was asked because the strategy stopped it early.
tuning_trials = Table(
    "tuning_trials",
    metadata,
    Column(
        "tuning_id",
        String(16),
        ForeignKey("tuning_jobs.tuning_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("number", Integer, nullable=False),
    Column("job", String(63), nullable=False),
    Column("status", String(16), nullable=False),
    Column("params", Text, nullable=False),
    Column("value", Float, nullable=True),
    Column("intermediate", Text, nullable=False, server_default="{}"),
    Column("system_attrs", Text, nullable=False, server_default="{}"),
    Column("attempts", Integer, nullable=False, server_default="1"),
    Column("pruned", Boolean, nullable=False, server_default="0"),
    Column("reason", String(1000), nullable=True),
    Column("run_id", String(32), nullable=True),
    Column("created_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    PrimaryKeyConstraint("tuning_id", "number"),
)


# -- monitoring: schedules that check captured traffic, and their executions (server.monitoring) -

# One row per monitoring schedule. ``spec`` is its MonitoringScheduleSpec (JSON);
# ``next_window_start`` (ms) the start of the next window the loop claims once it has ended:
# claiming a window inserts its execution and moves this cursor in one transaction, so a restart
# neither repeats nor skips a window. ``baseline_uri`` is set when the baseline is known (given,
# or suggested by the job ``baseline_job``); ``run_id`` is the run model-quality metrics go to.
monitoring_schedules = Table(
    "monitoring_schedules",
    metadata,
    Column("schedule_id", String(16), primary_key=True),
    Column("name", String(63), nullable=False, unique=True),
    Column("spec", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("baseline_uri", String(2000), nullable=True),
    Column("baseline_job", String(80), nullable=True),
    Column("experiment_id", String(32), nullable=True),
    Column("run_id", String(32), nullable=True),
    Column("next_window_start", BigInteger, nullable=False),
    Column("owner_id", BigInteger, nullable=True),
    Column("created_by", String(256), nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("updated_time", BigInteger, nullable=False),
    Column("failure_reason", String(1000), nullable=True),
)

# One row per execution: a window checked (scheduled or by hand) or a baseline suggested. The
# key (schedule, ``window_key``) is unique: a scheduled window's key is its start, so a window
# is claimed once; manual runs and baselines get keys of their own. ``job`` is the monitoring
# job's name (derived from the execution, so a crash between the claim and the submit submits
# the same job). ``summary`` is what the job reported (rows, violations by type, drifted
# features, metrics), ``violations`` the violations themselves (JSON list).
monitoring_executions = Table(
    "monitoring_executions",
    metadata,
    Column("execution_id", String(80), primary_key=True),
    Column(
        "schedule_id",
        String(16),
        ForeignKey("monitoring_schedules.schedule_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("window_key", String(40), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("window_start", BigInteger, nullable=False),
    Column("window_end", BigInteger, nullable=False),
    Column("status", String(32), nullable=False),
    Column("job", String(80), nullable=True),
    Column("summary", Text, nullable=True),
    Column("violations", Text, nullable=True),
    Column("violation_count", Integer, nullable=False, server_default="0"),
    Column("output_uri", String(2000), nullable=True),
    Column("failure_reason", String(1000), nullable=True),
    Column("created_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    UniqueConstraint("schedule_id", "window_key"),
    Index(None, "schedule_id", "created_time"),
    Index(None, "status"),
)
