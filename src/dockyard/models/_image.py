"""Container build contexts that follow the SageMaker inference contract.

``write_build_context(src, out)`` writes::

    out/Dockerfile          python:<version>-slim, pinned requirements, non-root user, port 8080
    out/.dockerignore
    out/requirements.txt    the package's pinned requirements
    out/serve.py            the entrypoint (see ``_serve``): GET /ping, POST /invocations
    out/dockyard/...        the model runtime (``errors.py``, ``_lazy.py``, ``models/``)
    out/model/...           the package, verified, copied to /opt/ml/model in the image

SageMaker starts a container as ``docker run IMAGE serve``: the entrypoint accepts that
argument. The model directory is root-owned and read-only for the service user, so nothing can
add files to it (the digests are checked again when the server starts).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from dockyard.errors import AlreadyExists
from dockyard.models._env import REQUIREMENTS, read_requirements
from dockyard.models._integrity import open_package
from dockyard.models._runtime import copy_runtime

__all__ = ["write_build_context"]

_UID = 10001
_DOCKERFILE = """\
# Built by Dockyard {version} for model {uuid}. SageMaker inference contract:
# port 8080, GET /ping, POST /invocations, model in /opt/ml/model, SIGTERM stops cleanly.
FROM {base_image}

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_NO_CACHE_DIR=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid {uid} model \\
 && useradd --system --uid {uid} --gid model --no-create-home --shell /usr/sbin/nologin model

WORKDIR /opt/program
COPY requirements.txt ./requirements.txt
RUN pip install --no-cache-dir --requirement requirements.txt

COPY dockyard/ ./dockyard/
COPY serve.py ./serve.py
COPY model/ /opt/ml/model/

USER {uid}:{uid}
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "/opt/program/serve.py", "--model-dir", "/opt/ml/model", \\
            "--host", "0.0.0.0", "--port", "8080"]
CMD ["serve"]
"""
_DOCKERIGNORE = "**/__pycache__\n**/*.pyc\n"


def write_build_context(
    src: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    base_image: str | None = None,
) -> Path:
    """Write a Docker build context that serves the package at ``src``.

    Args:
        src: The package directory (verified before it is copied).
        out_dir: The context directory to create; must not exist or be empty.
        base_image: The base image; default ``python:<the package's Python version>-slim``.

    Returns:
        ``out_dir``; ``docker build out_dir`` makes the image.

    Raises:
        AlreadyExists: ``out_dir`` is not empty.
        InvalidArgument: The package fails verification.
    """
    opened = open_package(src)
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise AlreadyExists(f"{out} exists and is not empty", field="out_dir")
    python = str(opened.manifest.python_function.get("python_version") or "3.11")
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(opened.path, out / "model")
    copy_runtime(out)
    shutil.copy2(Path(__file__).with_name("_serve.py"), out / "serve.py")
    requirements = read_requirements(opened.path)
    (out / REQUIREMENTS).write_text("".join(f"{line}\n" for line in requirements))
    dockyard = opened.manifest.dockyard or {}
    (out / "Dockerfile").write_text(
        _DOCKERFILE.format(
            version=dockyard.get("version", "unknown"),
            uuid=opened.manifest.model_uuid or "unknown",
            base_image=base_image or f"python:{python}-slim",
            uid=_UID,
        )
    )
    (out / ".dockerignore").write_text(_DOCKERIGNORE)
    return out
