"""The executors a server runs at once: its default and the others it is configured with.

``DOCKYARD_EXECUTOR`` names the default, which runs every job whose spec names no ``executor``;
``DOCKYARD_EXECUTORS`` lists more (``ray``), which a spec may name. All are built when the
server starts, so a spec naming one is checked against what it offers at submit, and a job's
row keeps the name of the one that runs it next to its handle: a restarted server asks the
same executor about the same runner again.
"""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.api.jobs import Capacity, Executor, load_executor
from dockyard.errors import InvalidArgument
from dockyard.settings import Settings

__all__ = ["Executors"]


class Executors:
    """The server's executors by name; the first is the default."""

    def __init__(self, default: Executor, *others: Executor) -> None:
        self._by_name: dict[str, Executor] = {}
        for executor in (default, *others):
            self._by_name.setdefault(executor.name, executor)
        self.default = default

    @classmethod
    def load(cls, settings: Settings) -> Executors:
        """Build the default executor and every other one the settings list."""
        default = load_executor(settings)
        others = [
            load_executor(settings, name)
            for name in dict.fromkeys(settings.executors)
            if name != settings.executor
        ]
        return cls(default, *others)

    @property
    def names(self) -> list[str]:
        """The names specs may give, the default first."""
        return list(self._by_name)

    def __iter__(self) -> Iterator[Executor]:
        return iter(self._by_name.values())

    def get(self, name: str | None) -> Executor | None:
        """The executor called ``name`` (the default for None); None when the server runs no
        executor of that name."""
        return self.default if name is None else self._by_name.get(name)

    def choose(self, name: str | None, field: str = "executor") -> Executor:
        """The executor a spec's ``executor`` names (the default when it names none).

        Raises:
            InvalidArgument: The server runs no executor of that name (``field`` is named).
        """
        found = self.get(name)
        if found is None:
            raise InvalidArgument(
                f"executor {name!r} is not one this server runs: it runs "
                f"{', '.join(self.names)} (DOCKYARD_EXECUTOR and DOCKYARD_EXECUTORS)",
                field=field,
            )
        return found

    @staticmethod
    def cpus(executor: Executor) -> float:
        """The CPUs ``executor`` offers jobs."""
        return float(executor.capacity()["cpus"])

    @staticmethod
    def gpus(executor: Executor) -> tuple[float, float]:
        """The GPUs ``executor`` offers jobs in all, and the most one of its nodes has."""
        capacity: Capacity = executor.capacity()
        total = float(capacity.get("gpus", 0.0))
        return total, float(capacity.get("node_gpus", total))

    def close(self) -> None:
        """Close the executors that hold processes of their own (the local warm process)."""
        for executor in self:
            close = getattr(executor, "close", None)
            if close is not None:
                close()
