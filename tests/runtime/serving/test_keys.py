"""API keys in the worker: both headers, wrong and revoked keys, open health checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.runtime.serving.conftest import config, rows, split_body, variant

from dockyard.api.serving import new_api_key
from dockyard.api.serving._keys import ApiKeys
from dockyard.api.serving.client import WorkerAdmin
from dockyard.api.serving.config import ApiKey


def _key() -> tuple[str, ApiKey]:
    key_id, key, digest = new_api_key()
    return key, ApiKey(id=key_id, sha256=digest)


def test_a_key_is_its_id_and_256_random_bits_and_only_its_digest_checks_it() -> None:
    key, stored = _key()
    assert key.startswith(f"dyk_{stored.id}_") and len(key) == 4 + 12 + 1 + 43
    keys = ApiKeys([stored])
    assert keys.accepts(key.encode())
    other, _ = _key()
    forged_id = f"dyk_{stored.id}_{other.split('_', 2)[2]}"  # a real id, someone else's secret
    for wrong in (other, forged_id, key[:-1], key + "x", f"dyk_{stored.id}", "", "Bearer"):
        assert not keys.accepts(wrong.encode()), wrong


def test_requests_need_a_key_in_either_header_and_health_checks_do_not(
    serve: Any, packages: dict[str, Path], short_dir: Path
) -> None:
    key, stored = _key()
    cfg = config(
        short_dir, [variant("v", packages["xgboost"])], require_api_key=True, api_keys=[stored]
    )
    body = split_body(rows(1))
    with serve(cfg) as w:
        http = w.client
        missing = http.post("/invocations", json=body)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        assert missing.json()["code"] == "unauthenticated"
        assert "Authorization: Bearer <key>" in missing.json()["message"]
        assert "request_id" in missing.json()
        bearer = http.post("/invocations", json=body, headers={"Authorization": f"Bearer {key}"})
        assert bearer.status_code == 200, bearer.text
        header = http.post("/invocations", json=body, headers={"X-Api-Key": key})
        assert header.status_code == 200
        assert header.json() == bearer.json()
        wrong = http.post("/invocations", json=body, headers={"X-Api-Key": key[:-2] + "xx"})
        assert wrong.status_code == 401 and "not valid" in wrong.json()["message"]
        basic = http.post("/invocations", json=body, headers={"Authorization": f"Basic {key}"})
        assert basic.status_code == 401
        oip = http.post("/v2/models/ep/infer", json={"inputs": []})
        assert oip.status_code == 401 and "error" in oip.json()  # OIP's error shape
        # Nothing else is readable either, not even which routes exist.
        for path in ("/version", "/v2", "/v2/models/ep", "/no/such/route"):
            assert http.get(path).status_code == 401, path
        for path in ("/ping", "/health", "/v2/health/live", "/v2/health/ready"):
            assert http.get(path).status_code == 200, path


def test_a_new_config_revokes_a_key_at_once_and_can_lift_the_requirement(
    serve: Any, packages: dict[str, Path], short_dir: Path
) -> None:
    kept, kept_stored = _key()
    revoked, revoked_stored = _key()
    cfg = config(
        short_dir,
        [variant("v", packages["xgboost"])],
        require_api_key=True,
        api_keys=[kept_stored, revoked_stored],
    )
    body = split_body(rows(1))
    with serve(cfg) as w, WorkerAdmin(w.admin_socket) as admin:
        for key in (kept, revoked):
            assert w.client.post("/invocations", json=body, headers={"X-Api-Key": key}).is_success
        summary = admin.update_config(cfg.model_copy(update={"api_keys": (kept_stored,)}))
        assert summary["loaded"] == []  # the models stay: only the keys changed
        gone = w.client.post("/invocations", json=body, headers={"X-Api-Key": revoked})
        assert gone.status_code == 401
        assert w.client.post("/invocations", json=body, headers={"X-Api-Key": kept}).is_success
        admin.update_config(cfg.model_copy(update={"require_api_key": False}))
        assert w.client.post("/invocations", json=body).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", "XYZ"), ("sha256", "00")],
)
def test_stored_keys_are_validated(field: str, value: str) -> None:
    from dockyard.api.serving.config import WorkerConfig
    from dockyard.errors import InvalidArgument

    entry = {"id": "0" * 12, "sha256": "0" * 64, field: value}
    with pytest.raises(InvalidArgument) as caught:
        WorkerConfig.parse(
            {"endpoint": "ep", "variants": [{"name": "v", "model_path": "/m"}], "api_keys": [entry]}
        )
    assert caught.value.field == f"api_keys.0.{field}"
