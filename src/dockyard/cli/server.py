"""``dockyard server``: serve the API, the MLflow-compatible API, health and metrics."""

from __future__ import annotations

import os

import click

__all__ = ["server"]


@click.command()
@click.option("--host", default=None, help="Interface to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 5050).")
@click.option("--workers", type=int, default=None, help="Worker processes (default 1).")
@click.option("--home", default=None, help="State folder for the embedded default.")
@click.option("--database-url", default=None, help="SQLAlchemy URL of the metadata database.")
@click.option("--artifact-root", default=None, help="Folder or s3://bucket/prefix for artifacts.")
def server(
    host: str | None,
    port: int | None,
    workers: int | None,
    home: str | None,
    database_url: str | None,
    artifact_root: str | None,
) -> None:
    """Run the Dockyard server."""
    import uvicorn

    from dockyard.settings import Settings
    from dockyard.store import open_database

    # Flags become DOCKYARD_* variables so every worker process builds the same settings.
    for name, value in (
        ("HOME", home),
        ("DATABASE_URL", database_url),
        ("ARTIFACT_ROOT", artifact_root),
        ("HOST", host),
        ("PORT", port),
        ("WORKERS", workers),
    ):
        if value is not None:
            os.environ[f"DOCKYARD_{name}"] = str(value)
    os.environ["DOCKYARD_SCHEDULER"] = "true"  # a server runs the job queue; the SDK doesn't
    settings = Settings()
    # Migrate once before workers start, so they never race to do it.
    open_database(settings.resolved_database_url).dispose()
    click.echo(
        f"Dockyard serving on http://{settings.host}:{settings.port} "
        f"(API /api/v1, MLflow /api/2.0/mlflow, metrics /metrics)"
    )
    uvicorn.run(
        "dockyard.server._app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        http="httptools",
        loop="uvloop",
        access_log=False,
    )
