"""``dockyard server``: serve the API, the MLflow-compatible API, health and metrics;
``dockyard server stop``: stop the local server the SDK started (and its endpoints' workers)."""

from __future__ import annotations

import math
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dockyard.client.cli._output import emit, json_option

if TYPE_CHECKING:
    from dockyard.server.store import Database
    from dockyard.settings import Settings

__all__ = ["server"]

_SHUTDOWN_GRACE_S = 10


@click.group(invoke_without_command=True)
@click.option("--host", default=None, help="Interface to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 5050).")
@click.option("--workers", type=int, default=None, help="Worker processes (default 1).")
@click.option("--home", default=None, help="State folder for the embedded default.")
@click.option("--database-url", default=None, help="SQLAlchemy URL of the metadata database.")
@click.option("--artifact-root", default=None, help="Folder or s3://bucket/prefix for artifacts.")
@click.option(
    "--insecure",
    is_flag=True,
    default=None,
    help="Serve a non-loopback address although no account exists (anyone may do anything).",
)
@click.option("--ssl-keyfile", default=None, help="TLS private key (serve HTTPS).")
@click.option("--ssl-certfile", default=None, help="TLS certificate chain (serve HTTPS).")
@click.option(
    "--local-port",
    type=int,
    default=None,
    help="With TLS: the loopback port, plain HTTP, jobs reach the server at (default port + 1).",
)
@click.pass_context
def server(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    workers: int | None,
    home: str | None,
    database_url: str | None,
    artifact_root: str | None,
    insecure: bool | None,
    ssl_keyfile: str | None,
    ssl_certfile: str | None,
    local_port: int | None,
) -> None:
    """Run the Dockyard server.

    Bound to loopback (the default) it serves local clients without accounts until the first
    one is created (`dockyard users create NAME --role admin`); from then on every request
    signs in. A non-loopback --host requires an account first, or --insecure.

    With --ssl-certfile it serves HTTPS, and also listens on 127.0.0.1:--local-port in plain
    HTTP for its own processes (job runners and jobs' scripts), behind the same sign-in.

    `dockyard server stop` stops the local server the SDK started.
    """
    if ctx.invoked_subcommand is not None:
        given = [name for name, value in ctx.params.items() if value is not None]
        if given:
            sub = ctx.invoked_subcommand
            assert isinstance(ctx.command, click.Group) and sub is not None
            command = ctx.command.get_command(ctx, sub)
            own = {p.name for p in command.params} if command is not None else set()
            flags = " ".join(f"--{name.replace('_', '-')}" for name in given)
            if set(given) <= own:  # ``dockyard server --home X stop`` reads naturally
                raise click.UsageError(
                    f"{flags} goes after {sub}: dockyard server {sub} {flags} ..."
                )
            raise click.UsageError(f"the server's options do not apply to {sub}: {flags}")
        return
    from sqlalchemy import func, select

    from dockyard.artifacts import open_artifact_store
    from dockyard.connection_guard import GuardedConfig
    from dockyard.serve import run
    from dockyard.server.store import open_database, schema
    from dockyard.settings import Settings

    # Flags become DOCKYARD_* variables so every worker process builds the same settings.
    for name, value in (
        ("HOME", home),
        ("DATABASE_URL", database_url),
        ("ARTIFACT_ROOT", artifact_root),
        ("HOST", host),
        ("PORT", port),
        ("WORKERS", workers),
        ("INSECURE", insecure),
        ("SSL_CERTFILE", ssl_certfile),
        ("SSL_KEYFILE", ssl_keyfile),
        ("LOCAL_PORT", local_port),
    ):
        if value is not None:
            os.environ[f"DOCKYARD_{name}"] = str(value)
    os.environ["DOCKYARD_SCHEDULER"] = "true"  # a server runs the job queue; the SDK doesn't
    from dockyard.api.jobs import check_executor, resolve_job_user
    from dockyard.errors import DockyardError

    try:
        settings = Settings()
        resolve_job_user(settings.job_user)  # refused here, before anything starts
        check_executor(settings)
        from dockyard.server import read_local_key

        read_local_key(settings.local_key_file)  # each worker reads it again as it starts
        # Migrate once before workers start, so they never race to do it.
        db = open_database(settings.resolved_database_url)
        try:
            with db.read() as conn:
                count = select(func.count()).select_from(schema.users)
                accounts = conn.execute(count).scalar_one()
        finally:
            db.dispose()
        root = settings.resolved_artifact_root
        try:
            open_artifact_store(root, s3_endpoint_url=settings.s3_endpoint_url).check()
        except DockyardError as exc:
            raise click.ClickException(f"artifact store {root}: {exc.message}") from exc
    except DockyardError as exc:
        raise click.ClickException(exc.message) from exc
    signs_in = settings.auth == "on" or accounts > 0
    loopback = settings.host in ("127.0.0.1", "localhost", "::1")
    if not loopback and not signs_in and not settings.insecure:
        raise click.UsageError(
            f"refusing to serve {settings.host} without accounts: anyone who can reach it could "
            "run code here. Create an admin first (dockyard users create NAME --role admin, "
            "with the same DOCKYARD_HOME or DOCKYARD_DATABASE_URL), or pass --insecure."
        )
    _require_free_port(settings)
    local = _bind_local(settings)
    scheme = "https" if settings.tls else "http"
    click.echo(
        f"Dockyard serving on {scheme}://{settings.host}:{settings.port} "
        f"(web UI /, API /api/v1, MLflow /api/2.0/mlflow, metrics /metrics); "
        + ("sign-in required" if signs_in else "no accounts yet: open to local clients")
    )
    if local is not None:
        click.echo(f"Jobs reach it at {settings.server_url} (loopback only, plain HTTP)")
    run(
        GuardedConfig(
            "dockyard.server._app:create_app",
            limits=settings.connection_limits(),
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level=settings.log_level,
            loop="uvloop",
            ws="none",
            access_log=False,
            # X-Forwarded-For only from the proxies named: uvicorn believes it from any local
            # process by default, which could then pick the address its failed sign-ins are
            # throttled under, and the one the audit log records.
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=settings.trusted_proxies or None,
            ssl_keyfile=settings.ssl_keyfile,
            ssl_certfile=settings.ssl_certfile,
            local=local,
            # Event streams end as soon as a stop begins (dockyard.draining); anything else
            # still answering after this long (a stalled download) is cut off, so a stop is
            # never held indefinitely.
            timeout_graceful_shutdown=_SHUTDOWN_GRACE_S,
        )
    )


def _finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a number of seconds")
    return value


def _home(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise click.BadParameter("an empty path names no folder")
    return value


@server.command()
@click.option("--home", default=None, callback=_home, help="State folder (default DOCKYARD_HOME).")
@click.option(
    "--endpoints",
    is_flag=True,
    help="Also stop the endpoints' workers, which otherwise go on serving (the next server "
    "starts them again).",
)
@click.option(
    "--grace",
    type=click.FloatRange(0, 600),
    default=20.0,
    show_default=True,
    callback=_finite,
    help="Seconds each process has to finish before it is killed.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Stop the server although jobs are running (their runners wait for a server on the "
    "same address).",
)
@json_option
def stop(home: str | None, endpoints: bool, grace: float, force: bool, as_json: bool) -> None:
    """Stop the local server the SDK started over DOCKYARD_HOME (`make demo` leaves one).

    Refused while jobs run, as their runners report to that server (stop them first, or pass
    --force). A server started by hand (`dockyard server` in a terminal) is not this one: stop
    it where it runs. Stopping nothing is not an error.
    """
    from dockyard.client.sdk import stop_server
    from dockyard.errors import DockyardError
    from dockyard.settings import Settings

    db: Database | None = None
    try:
        settings = Settings(home=Path(home)) if home else Settings()
        found = settings.home.is_dir()
        db = _open_database(settings) if found else None
        check = db if db is not None and not force else None
        refuse = (lambda: _refuse_while_jobs_run(check)) if check is not None else None
        stopped = stop_server(settings.home, grace, before=refuse) if found else None
        workers: dict[str, int] = {}
        problems: dict[str, str] = {}
        if endpoints and db is not None:
            from dockyard.server.endpoints import stop_fleets

            workers, problems = stop_fleets(settings, db, grace)
    except DockyardError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        if db is not None:
            db.dispose()

    def human() -> str:
        if stopped is not None:
            how = f" (killed: it had not ended after {grace:g} s)" if stopped.killed else ""
            lines = [f"stopped the local server at {stopped.url}{how}"]
        else:
            lines = [f"no local server was running over {settings.home}"]
            if not found:
                lines[0] += " (no such folder)"
        if endpoints:
            running = {name: n for name, n in workers.items() if n}
            lines.append(
                "stopped "
                + ", ".join(f"{name}'s {n} worker{'s' * (n != 1)}" for name, n in running.items())
                if running
                else "no endpoint worker was running"
            )
            lines += [f"endpoint {name}: {why}" for name, why in problems.items()]
        else:
            lines.append("endpoints' workers, if any, go on serving: --endpoints stops them too")
        return "\n".join(lines)

    emit(
        {
            "home": str(settings.home),
            "server": stopped.url if stopped else None,
            "stopped": stopped is not None,
            "killed": bool(stopped and stopped.killed),
            # Per endpoint, the workers stopped; null when --endpoints was not given.
            "endpoints": workers if endpoints else None,
            "problems": problems,
        },
        as_json,
        human,
    )
    if problems:
        sys.exit(1)


def _open_database(settings: Settings) -> Database | None:
    """The home's database, when it has one (a home no server has used has none to open).
    Not migrated: a server of another version may be running over it."""
    from dockyard.server.store import Database

    url = settings.resolved_database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return None
    return Database(url)


def _refuse_while_jobs_run(db: Database) -> None:
    """Refuse a stop that would leave running jobs' runners waiting for their server."""
    from sqlalchemy import select

    from dockyard.api.jobs import JobStatus
    from dockyard.errors import Conflict
    from dockyard.server.store import schema

    jobs = schema.jobs
    running = [JobStatus.IN_PROGRESS.value, JobStatus.STOPPING.value]
    with db.read() as conn:
        names = conn.execute(select(jobs.c.name).where(jobs.c.status.in_(running))).scalars().all()
    if names:
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        one = len(names) == 1
        raise Conflict(
            f"{len(names)} job{'' if one else 's'} {'is' if one else 'are'} running ({shown}): "
            f"{'its runner reports' if one else 'their runners report'} to this server and "
            f"would wait hours for it. Stop {'it' if one else 'them'} first (dockyard jobs stop "
            "NAME), or pass --force"
        )


def _require_free_port(settings: Settings) -> None:
    """Refuse at once, before anything starts or says it serves, a port another program
    holds (the server binds it later, in each worker)."""
    if settings.port == 0:
        return
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds it
        try:
            probe.bind((settings.host, settings.port))
        except OSError as exc:
            raise click.UsageError(
                f"cannot serve on {settings.host}:{settings.port} ({exc.strerror}): is another "
                "server there? Give --port (DOCKYARD_PORT) a free one"
            ) from None


def _bind_local(settings: Settings) -> socket.socket | None:
    """With TLS, the local listener's socket (see :func:`dockyard.serve.bind_local`).

    Its port is fixed (not any free one) so runners that outlive a restart of the server
    reach the restarted server where they reached the old one.
    """
    from dockyard.serve import bind_local

    port = settings.resolved_local_port
    if port is None:
        return None
    default = settings.local_port is None
    if (default and not 0 < settings.port < 65535) or port == settings.port:
        raise click.UsageError(
            f"the local listener for jobs cannot use port {port}: set --local-port "
            "(DOCKYARD_LOCAL_PORT) to a free port other than --port"
        )
    try:
        return bind_local(port)
    except OSError as exc:
        raise click.UsageError(
            f"the local listener for jobs cannot bind 127.0.0.1:{port} ({exc.strerror}): "
            "set --local-port (DOCKYARD_LOCAL_PORT) to a free port"
        ) from None
