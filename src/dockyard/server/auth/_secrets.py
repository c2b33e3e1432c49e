"""Passwords and bearer credentials: how they are made, stored and checked.

Passwords are hashed with scrypt (memory-hard: 32 MiB and ~0.1 s per check, so a stolen
database is slow to attack). Tokens and session ids are 256-bit random secrets: a single SHA-256
of the secret is enough to store them, since nobody can guess their way back to a random value,
and it keeps the check in microseconds. A credential reads ``<prefix>_<id>_<secret>``: the id
finds the row, the secret is compared in constant time.

A name with no password to check (no such account, or one that signs in with tokens only)
costs the same scrypt as a wrong password: a refusal that came sooner would tell whoever
times it which names are accounts.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass

__all__ = [
    "Credential",
    "hash_password",
    "new_credential",
    "parse_credential",
    "secret_digest",
    "verify_password",
]

_N, _R, _P = 2**15, 8, 1
_MAXMEM = 64 * 1024 * 1024
MIN_PASSWORD = 8
MAX_PASSWORD = 1024


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    """The stored form of ``password``: ``scrypt$n$r$p$salt$hash``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=_MAXMEM)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored`` (always False for an account without one, or
    none: ``stored`` None, after as long as a check takes)."""
    if len(password) > MAX_PASSWORD:
        return False
    if not stored:
        verify_password(password, _decoy())
        return False
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), maxmem=_MAXMEM
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


@functools.cache
def _decoy() -> str:
    """A hash no password is known to match, checked in place of a missing one."""
    return hash_password(secrets.token_urlsafe(32))


def secret_digest(secret: str) -> str:
    """What is stored for a random secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Credential:
    """A bearer credential: ``text`` is shown once; ``id`` and ``digest`` are stored."""

    id: str
    secret: str

    @property
    def digest(self) -> str:
        return secret_digest(self.secret)

    def text(self, prefix: str) -> str:
        return f"{prefix}_{self.id}_{self.secret}"


def new_credential() -> Credential:
    return Credential(secrets.token_hex(6), secrets.token_urlsafe(32))


def parse_credential(text: str, prefix: str) -> Credential | None:
    """The id and secret of a ``<prefix>_<id>_<secret>`` credential; None if it is not one."""
    head, sep, rest = text.partition("_")
    if head != prefix or not sep:
        return None
    ident, sep, secret = rest.partition("_")
    if not sep or len(ident) != 12 or not 20 <= len(secret) <= 100:
        return None
    return Credential(ident, secret)
