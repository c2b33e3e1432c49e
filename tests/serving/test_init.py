from __future__ import annotations

import dockyard.serving


def test_public_names_are_pinned() -> None:
    assert dockyard.serving.__all__ == [
        "ApiKey",
        "BatchingConfig",
        "CaptureConfig",
        "VariantConfig",
        "WorkerAdmin",
        "WorkerConfig",
        "new_api_key",
    ]
    for name in dockyard.serving.__all__:
        assert getattr(dockyard.serving, name).__doc__
