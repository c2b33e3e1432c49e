"""An endpoint that monitoring schedules watch is not deleted from under them."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.server.monitoring.conftest import ROOT, baseline_folder, deploy, spec

from dockyard.api.endpoints import EndpointStatus
from dockyard.errors import InUse
from dockyard.server._services import Services


def test_an_endpoint_is_deleted_only_once_no_schedule_watches_it(
    services: Services, model: Path, tmp_path: Path
) -> None:
    deploy(services, model)
    deploy(services, model, name="other")
    folder = baseline_folder(tmp_path)
    services.monitoring.create(ROOT, spec(folder))
    services.monitoring.create(ROOT, spec(folder, name="churn-quality"))
    services.monitoring.create(ROOT, spec(folder, name="other-drift", target={"endpoint": "other"}))

    with pytest.raises(InUse) as caught:
        services.endpoints.delete(ROOT, "churn")
    assert caught.value.message == (
        "endpoint 'churn' is watched by monitoring schedules churn-drift, churn-quality: "
        "delete them first"
    )
    assert caught.value.details == {"monitoring_schedules": ["churn-drift", "churn-quality"]}
    assert services.endpoints.get(ROOT, "churn").status is not EndpointStatus.DELETING

    services.monitoring.delete(ROOT, "churn-drift")
    services.monitoring.delete(ROOT, "churn-quality")
    assert services.endpoints.delete(ROOT, "churn").status is EndpointStatus.DELETING
