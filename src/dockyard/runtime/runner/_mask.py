"""The clear values of a job's SecureStrings, and its own token, kept out of its log.

The server hands the runner the values it revealed into the job's environment (and the token
it gives the script as ``DOCKYARD_TOKEN``); the runner
writes ``******`` in their place in every line of output it records (the log the server
stores, the tail a failure reason quotes) and in the failure file the job writes. A secret
printed across two lines is masked line by line, each of its lines on its own. Values of
fewer than four characters are left alone: masking them would garble the log, not protect them.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["MASK", "Masker"]

MASK = "******"
_SHORTEST = 4


class Masker:
    """Replaces each secret (and each line of a multi-line one) with :data:`MASK`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        found: set[str] = set()
        for secret in secrets:
            found.update(part for part in (secret, *secret.splitlines()) if len(part) >= _SHORTEST)
        # Longest first: a secret that contains another is masked whole.
        self._texts = sorted(found, key=len, reverse=True)
        self._bytes = [t.encode() for t in self._texts]

    def __bool__(self) -> bool:
        return bool(self._texts)

    def line(self, raw: bytes) -> bytes:
        for secret in self._bytes:
            if secret in raw:
                raw = raw.replace(secret, MASK.encode())
        return raw

    def text(self, text: str) -> str:
        for secret in self._texts:
            text = text.replace(secret, MASK)
        return text
