"""Which variant answers: weighted random split, pinning by name, and the shadow copy.

A :class:`Routes` is immutable. A configuration change builds a new one and swaps it in with one
attribute assignment, and each request reads the current one once, so a request never sees half
of an update.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

from dockyard.errors import InvalidArgument
from dockyard.runtime.serving._variant import Variant

__all__ = ["Routes"]


class Routes:
    """Production variants with their weights, and the optional shadow variant.

    Args:
        production: The variants that answer, in configuration order.
        shadow: The variant that gets sampled copies, if any.
        rng: Source of randomness (seed it for reproducible splits).
    """

    def __init__(
        self,
        production: Sequence[Variant],
        shadow: Variant | None,
        rng: random.Random | None = None,
    ) -> None:
        self.production = tuple(production)
        self.shadow = shadow
        self.by_name = {v.name: v for v in self.production}
        weighted = [v for v in self.production if v.config.weight > 0]
        self._weighted = weighted
        self._bounds = list(accumulate(v.config.weight for v in weighted))
        self._total = self._bounds[-1]
        self._random = (rng or random.Random()).random
        self._only = weighted[0] if len(weighted) == 1 else None
        self.shadow_fraction = shadow.config.shadow_sampling_pct / 100 if shadow else 0.0

    @property
    def names(self) -> list[str]:
        """Production variant names, in configuration order."""
        return [v.name for v in self.production]

    def pick(self) -> Variant:
        """A production variant drawn with probability proportional to its weight."""
        if self._only is not None:
            return self._only
        index = bisect_right(self._bounds, self._random() * self._total)
        return self._weighted[min(index, len(self._weighted) - 1)]

    def pin(self, name: bytes) -> Variant:
        """The production variant named by ``X-Dockyard-Target-Variant``.

        Raises:
            InvalidArgument: No production variant has that name (the error names it).
        """
        variant = self.by_name.get(name.decode("utf-8", "replace"))
        if variant is None:
            shown = name.decode("utf-8", "replace")
            raise InvalidArgument(
                f"X-Dockyard-Target-Variant names unknown variant {shown!r} "
                f"(production variants: {', '.join(self.names)})",
                field="X-Dockyard-Target-Variant",
                details={"variant": shown, "known": self.names},
            )
        return variant

    def choose(self, pinned: bytes | None) -> Variant:
        """The pinned variant if a name is given, else a weighted draw."""
        return self.pick() if pinned is None else self.pin(pinned)

    def sample_shadow(self) -> Variant | None:
        """The shadow variant if this request is sampled for a copy."""
        shadow = self.shadow
        if shadow is None or self._random() >= self.shadow_fraction:
            return None
        return shadow
