"""API keys of an endpoint's data plane: their format, how one is made, and the check a worker
runs on every request of an endpoint that requires them.

A key is ``dyk_<id>_<secret>``: a 12-hex-digit public id (what lists show and revocation names)
and 32 random bytes in URL-safe base64. Only the SHA-256 digest of the whole key is kept, in the
database and in worker configs. A plain hash is enough because a key is 256 random bits, not a
password: there is no dictionary to try, so a slow hash would only slow every request. A worker
finds the digest by the id the key carries and compares digests in constant time: about a
microsecond a request.

Clients that sign requests with AWS SigV4 (boto3's ``sagemaker-runtime``, the SageMaker SDK)
carry the key as their session token: ``AWS_SESSION_TOKEN=dyk_...`` (any access key id and
secret) makes botocore send it as ``X-Amz-Security-Token``, which is read like ``X-Api-Key``.
The signature itself is not verified: the worker holds only the keys' digests, and an HMAC
signature can only be checked by someone holding the secret it was made with.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from dockyard.api.serving.config import ApiKey

__all__ = ["ApiKeys", "new_api_key"]

_PREFIX = b"dyk_"
_ID_END = len(_PREFIX) + 12  # the id's 12 hex digits, then "_"
_MISSING = (
    "this endpoint requires an API key: send 'Authorization: Bearer <key>' or 'X-Api-Key: <key>' "
    "(boto3 and the SageMaker SDK: AWS_SESSION_TOKEN=<key>)"
)
_INVALID = "the API key is not valid for this endpoint (unknown, revoked or mistyped)"


def new_api_key() -> tuple[str, str, str]:
    """A new key: ``(id, key, sha256 hex digest of the key)``. The key is shown once, then only
    its digest is kept."""
    key_id = secrets.token_hex(6)
    key = f"{_PREFIX.decode()}{key_id}_{secrets.token_urlsafe(32)}"
    return key_id, key, hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    """The keys one endpoint accepts (a frozen set, rebuilt with each config).

    Args:
        keys: Their ids and digests.
    """

    __slots__ = ("_digests",)

    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self._digests = {k.id.encode(): bytes.fromhex(k.sha256) for k in keys}

    def refusal(self, headers: Iterable[tuple[bytes, bytes]]) -> str | None:
        """Why a request with these headers (names lowercased) is refused; None if it is not."""
        key = None
        for name, value in headers:
            if name in (b"x-api-key", b"x-amz-security-token"):
                key = value.strip()
            elif name == b"authorization":
                scheme, _, credentials = value.partition(b" ")
                if scheme.lower() == b"bearer":
                    key = credentials.strip()
        if not key:
            return _MISSING
        return None if self.accepts(key) else _INVALID

    def accepts(self, key: bytes) -> bool:
        """Whether ``key`` is one of the endpoint's keys."""
        if not key.startswith(_PREFIX) or key[_ID_END : _ID_END + 1] != b"_":
            return False
        digest = self._digests.get(key[len(_PREFIX) : _ID_END])
        return digest is not None and hmac.compare_digest(hashlib.sha256(key).digest(), digest)
