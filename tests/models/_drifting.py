"""A module whose answer grows at each call: what its export fixes is one call's answer, so the
exported model and the source always differ (by a known amount, on any runtime)."""

from __future__ import annotations

from typing import Any

from torch import nn


class Drifting(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: Any) -> Any:
        self.calls += 1
        return x * float(self.calls)
