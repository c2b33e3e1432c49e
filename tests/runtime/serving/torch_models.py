"""PyTorch networks the serving tests deploy (pickled by value, so workers need no import).

Imported only where torch is installed.
"""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn


class TabularNet(nn.Module):
    """An MLP over four features with three class scores, as a course trains on a table."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))

    def forward(self, x: Any) -> Any:
        return self.net(x)


class DigitNet(nn.Module):
    """A small CNN on 1x8x8 images with ten class probabilities."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2)
        )
        self.head = nn.Linear(4 * 4 * 4, 10)

    def forward(self, x: Any) -> Any:
        return torch.softmax(self.head(self.features(x).flatten(1)), dim=1)


class Slow(nn.Module):
    """Wraps a network and takes 30 ms per forward pass, whatever the batch size, so that
    concurrent requests queue while one batch runs (a large network on a busy CPU)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: Any) -> Any:
        time.sleep(0.03)
        return self.inner(x)
