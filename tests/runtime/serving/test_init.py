from __future__ import annotations

import dockyard.api.serving
import dockyard.api.serving.client
import dockyard.api.serving.config


def test_what_the_server_and_a_worker_share_is_pinned() -> None:
    assert dockyard.api.serving.__all__ == ["ApiKeys", "BrowserGuard", "new_api_key"]
    assert sorted(dockyard.api.serving.config.__all__) == sorted(
        [
            "MAX_BODY_BYTES",  # the server holds InvokeEndpoint to the workers' limit
            "ApiKey",
            "BatchingConfig",
            "CaptureConfig",
            "VariantConfig",
            "WorkerConfig",
        ]
    )
    assert dockyard.api.serving.client.__all__ == ["WorkerAdmin"]
    for module in (dockyard.api.serving, dockyard.api.serving.config):
        for name in module.__all__:
            assert getattr(module, name).__doc__
