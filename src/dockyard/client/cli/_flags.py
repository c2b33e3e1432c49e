"""Flags that set the fields of a spec or a request body, so that an error about such a
field names the flag the user typed (``--model``, ``--canary``, ``NAME``) rather than the
field's path (``variants.0.model_uri``, ``rollout.canary_pct``), while a field a spec file set
keeps its path in the file.

Light on purpose: commands that only read (``whoami``, ``params list``) import it too, and
load nothing of the server's or the spec files' stack for it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from dockyard.api.batch import respelled
from dockyard.errors import DockyardError

__all__ = ["FlagFields"]


class FlagFields:
    """The spec fields a command's flags set, and the flag that set each.

    Errors raised inside :meth:`naming` (the client's own check of the spec, and the server's
    answer) name such a field by its flag: ``--model: invalid model URI ...`` where the spec's
    path is ``variants.0.model_uri``. Fields a spec file set keep their paths; ``spelling``
    names fields as the caller spelled them otherwise (a spec file's SageMaker names, an
    argument such as ``NAME``), a flag set later winning over it.
    """

    def __init__(self, spelling: Mapping[str, str] | None = None) -> None:
        self.names: dict[str, str] = dict(spelling or {})

    def set(self, data: dict[str, Any], path: str, value: Any, flag: str) -> None:
        """Set the field at the dotted ``path`` of ``data`` (a number indexes a list; mappings
        are made on the way) to ``value``, set by ``flag``."""
        *parents, last = path.split(".")
        node: Any = data
        for key in parents:
            if isinstance(node, list):
                node = node[int(key)]
            else:
                if not isinstance(node.get(key), (dict, list)):
                    node[key] = {}
                node = node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
        self.named(path, flag)

    def named(self, path: str, flag: str) -> None:
        """Say that ``flag`` set the field at ``path`` (and whatever is under it)."""
        self.names[path] = flag

    @contextmanager
    def naming(self) -> Iterator[None]:
        """Errors raised inside name the flags' fields by their flags."""
        try:
            yield
        except DockyardError as exc:
            raise respelled(exc, self.names) from None
