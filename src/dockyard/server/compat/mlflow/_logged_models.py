"""MLflow 3's logged-model search, answered for a server that keeps no logged models.

The client searches logged models on paths that have nothing to do with them: listing or
downloading a run's artifacts also looks for a model logged under that name. Dockyard keeps models
in its own registry, so the honest answer is an empty result; the other logged-model endpoints
stay ENDPOINT_NOT_FOUND, as on an MLflow server older than 3.0.
"""

from __future__ import annotations

from typing import Any, Final

from dockyard.auth import Actor
from dockyard.server.compat.mlflow._endpoint import Endpoint
from dockyard.server.compat.mlflow._fields import Fields
from dockyard.tracking import TrackingService

__all__ = ["ENDPOINTS"]


def search_logged_models(tracking: TrackingService, actor: Actor, fields: Fields) -> dict[str, Any]:
    """No logged models match, in any experiment that exists."""
    for experiment_id in fields.strings("experiment_ids"):
        tracking.get_experiment(actor, experiment_id)
    return {"models": []}


ENDPOINTS: Final = (Endpoint("logged-models/search", ("POST",), search_logged_models),)
