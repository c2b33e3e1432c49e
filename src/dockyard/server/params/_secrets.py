"""SecureString values at rest: AES-256-GCM with the server's ``DOCKYARD_PARAMS_KEY``.

A stored value reads ``dy1:<key id>:<base64(nonce || ciphertext+tag)>``. The key id (the first
8 hex digits of the key's SHA-256) tells a changed key from a damaged value; the associated
data binds a ciphertext to its parameter name and version, so a value copied onto another row
does not decrypt. ``cryptography`` is imported when a SecureString is first used, so servers
that use none never load it.

Nothing here puts a clear value or the key in an exception message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from typing import Any

from dockyard.errors import InvalidArgument, Undecryptable
from dockyard.settings import decode_key

__all__ = ["Cipher", "decode_key", "new_key"]

_PREFIX = "dy1"


def new_key() -> str:
    """A fresh key for ``DOCKYARD_PARAMS_KEY``."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _aad(name: str, version: int) -> bytes:
    return f"{name}\0{version}".encode()


class Cipher:
    """Encrypts and decrypts SecureString values with one key (None: SecureStrings refused)."""

    def __init__(self, key: str | None) -> None:
        self._key = decode_key(key) if key else None
        self.key_id = hashlib.sha256(self._key).hexdigest()[:8] if self._key else None
        self._aead: Any = None

    @property
    def enabled(self) -> bool:
        return self._key is not None

    def _cipher(self) -> Any:
        if self._key is None:
            raise InvalidArgument(
                "this server has no DOCKYARD_PARAMS_KEY, so it stores no SecureString "
                "parameters: set it (32 random bytes, base64) and restart the server",
                field="type",
            )
        if self._aead is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._aead = AESGCM(self._key)
        return self._aead

    def encrypt(self, name: str, version: int, clear: str) -> str:
        nonce = os.urandom(12)
        sealed = self._cipher().encrypt(nonce, clear.encode(), _aad(name, version))
        return f"{_PREFIX}:{self.key_id}:{base64.b64encode(nonce + sealed).decode()}"

    def check(self, name: str, version: int, stored: str) -> None:
        """Undecryptable unless ``stored`` was sealed under this server's key (read from its
        prefix: nothing is decrypted)."""
        if self._key is None:
            raise Undecryptable(
                f"version {version} of {name} is a SecureString and this server has no "
                "DOCKYARD_PARAMS_KEY: start it with the key the value was written with"
            )
        prefix, _, rest = stored.partition(":")
        key_id = rest.partition(":")[0]
        if prefix != _PREFIX:
            raise Undecryptable(f"version {version} of {name} is not an encrypted value")
        if key_id != self.key_id:
            raise Undecryptable(
                f"version {version} of {name} was encrypted with another DOCKYARD_PARAMS_KEY "
                f"(key id {key_id}; this server's is {self.key_id}): start the server with "
                "the key it was written with, or put the value again"
            )

    def decrypt(self, name: str, version: int, stored: str) -> str:
        self.check(name, version, stored)
        aead = self._cipher()
        body = stored.split(":", 2)[-1]
        from cryptography.exceptions import InvalidTag

        try:
            raw = base64.b64decode(body)
            clear: bytes = aead.decrypt(raw[:12], raw[12:], _aad(name, version))
        except (InvalidTag, binascii.Error, ValueError):
            raise Undecryptable(
                f"version {version} of {name} does not decrypt: its stored value is damaged"
            ) from None
        return clear.decode()
