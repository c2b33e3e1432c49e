"""AWS Signature Version 4, checked: is this request signed with this secret, lately?

The server recomputes what the client signed (AWS's "Create a signed AWS API request" steps)
and compares signatures in constant time:

1. the **canonical request**: method, the path URI-encoded once more (AWS encodes the already
   encoded path again for every service but S3, and botocore signs so), the query sorted by
   name, the signed headers (lower-case names, values with runs of spaces folded) and the
   SHA-256 of the body as received. A client's ``x-amz-content-sha256`` must match that
   hash; ``UNSIGNED-PAYLOAD`` is refused, since the body would then be unprotected;
2. the **string to sign**: ``AWS4-HMAC-SHA256``, ``X-Amz-Date``, the credential scope
   (``date/region/service/aws4_request``) and the canonical request's SHA-256;
3. the **signing key**: HMAC-SHA256 chained from ``"AWS4" + secret`` over the scope's date,
   region, service and ``aws4_request``; the signature is the HMAC of the string to sign.

``X-Amz-Date`` must be within 15 minutes of the server's clock either way (AWS's rule; a
captured request cannot be replayed later) and agree with the credential's date, and ``host``
must be signed. Region and service are taken as the client signed them: the server answers
every service on one port and has no region of its own.

Each refusal is a :class:`SignatureRejected`, which carries the error code each AWS protocol
names it by, so boto3 raises the exception a script written for AWS expects.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

from dockyard.errors import Unauthenticated

__all__ = [
    "ALGORITHM",
    "MAX_SKEW",
    "SignatureRejected",
    "SignedRequest",
    "check_signature",
    "incomplete",
    "parse_authorization",
]

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)
_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_UNSIGNED = "UNSIGNED-PAYLOAD"


class SignatureRejected(Unauthenticated):
    """A SigV4-signed request that is not accepted, with AWS's names for why.

    Attributes:
        json_code: The ``__type`` of AWS's JSON protocols (SageMaker, CloudWatch Logs,
            SageMaker Runtime).
        query_code: The ``Code`` of AWS's query protocol (SNS).
    """

    def __init__(self, message: str, *, json_code: str, query_code: str) -> None:
        super().__init__(message)
        self.json_code = json_code
        self.query_code = query_code


def incomplete(message: str) -> SignatureRejected:
    """The signature lacks a part AWS requires, or a part is malformed."""
    return SignatureRejected(
        message, json_code="IncompleteSignatureException", query_code="IncompleteSignature"
    )


def _mismatch(message: str) -> SignatureRejected:
    return SignatureRejected(
        message, json_code="InvalidSignatureException", query_code="SignatureDoesNotMatch"
    )


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The parts of an ``Authorization: AWS4-HMAC-SHA256 ...`` header."""

    key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def parse_authorization(value: str) -> SignedRequest:
    """The parts of a SigV4 ``Authorization`` header; IncompleteSignature naming what is
    missing or malformed."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise incomplete(
            f"unsupported signing algorithm {algorithm[:40]!r}: sign with {ALGORITHM} (SigV4)"
        )
    parts: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, part = item.strip().partition("=")
        if sep:
            parts[name] = part
    for needed in ("Credential", "SignedHeaders", "Signature"):
        if not parts.get(needed):
            raise incomplete(
                f"Authorization header requires '{needed}' parameter. Authorization={value[:200]}"
            )
    credential = parts["Credential"].split("/")
    if len(credential) != 5 or credential[4] != "aws4_request" or not all(credential):
        raise incomplete(
            "the Credential must read <access key id>/<yyyymmdd>/<region>/<service>/aws4_request,"
            f" not {parts['Credential'][:200]!r}"
        )
    signature = parts["Signature"].lower()
    if len(signature) != 64 or any(c not in "0123456789abcdef" for c in signature):
        raise incomplete("the Signature must be 64 hexadecimal digits")
    return SignedRequest(
        key_id=credential[0],
        date=credential[1],
        region=credential[2],
        service=credential[3],
        signed_headers=tuple(parts["SignedHeaders"].lower().split(";")),
        signature=signature,
    )


def check_signature(
    signed: SignedRequest,
    secret: str,
    *,
    method: str,
    raw_path: bytes,
    query: bytes,
    headers: Iterable[tuple[bytes, bytes]],
    body_sha256: str,
    now: datetime,
) -> None:
    """None when ``signed`` is the signature ``secret`` makes of this request, whose body's
    SHA-256 is ``body_sha256`` (hex), at about ``now``; :class:`SignatureRejected` saying why
    otherwise."""
    values: dict[str, list[str]] = {}
    for name, value in headers:
        values.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    if "host" not in signed.signed_headers:
        raise incomplete("the 'host' header must be signed (it is not in SignedHeaders)")
    amz_date = _one(values, "x-amz-date")
    if amz_date is None:
        raise incomplete(
            "Authorization header requires existence of a 'X-Amz-Date' header (yyyymmddThhmmssZ)"
        )
    _check_date(amz_date, signed, now)
    body_hash = body_sha256
    declared = _one(values, "x-amz-content-sha256")
    if declared == _UNSIGNED:
        raise _mismatch("UNSIGNED-PAYLOAD is not accepted: sign the body's SHA-256")
    if declared is not None and declared.lower() != body_hash:
        raise _mismatch(
            "the x-amz-content-sha256 header does not match the body received: the body was "
            "changed after signing"
        )
    canonical_headers = []
    for signed_name in signed.signed_headers:
        if signed_name not in values:
            raise incomplete(f"the signed header {signed_name!r} is not in the request")
        folded = ",".join(" ".join(v.split()) for v in values[signed_name])
        canonical_headers.append(f"{signed_name}:{folded}\n")
    canonical = "\n".join(
        [
            method.upper(),
            _canonical_path(raw_path),
            _canonical_query(query),
            "".join(canonical_headers),
            ";".join(signed.signed_headers),
            body_hash,
        ]
    )
    to_sign = "\n".join(
        [ALGORITHM, amz_date, signed.scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(f"AWS4{secret}".encode(), signed.date)
    for part in (signed.region, signed.service, "aws4_request"):
        key = _hmac(key, part)
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signed.signature):
        raise _mismatch(
            "The request signature we calculated does not match the signature you provided. "
            f"Check the secret access key of {signed.key_id} and the signing method; a body "
            "or header changed after signing does not match either."
        )


def _one(values: dict[str, list[str]], name: str) -> str | None:
    found = values.get(name)
    return found[0].strip() if found else None


def _check_date(amz_date: str, signed: SignedRequest, now: datetime) -> None:
    try:
        when = datetime.strptime(amz_date, _DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise incomplete(
            f"X-Amz-Date {amz_date[:40]!r} is not a date of the form yyyymmddThhmmssZ"
        ) from None
    if amz_date[:8] != signed.date:
        raise _mismatch(
            f"the Credential's date {signed.date!r} is not the date of X-Amz-Date {amz_date!r}"
        )
    if when < now - MAX_SKEW:
        raise _mismatch(
            f"Signature expired: {amz_date} is now earlier than "
            f"{(now - MAX_SKEW).strftime(_DATE_FORMAT)} ({now.strftime(_DATE_FORMAT)} - 15 min.)"
        )
    if when > now + MAX_SKEW:
        raise _mismatch(
            f"Signature not yet current: {amz_date} is still later than "
            f"{(now + MAX_SKEW).strftime(_DATE_FORMAT)} ({now.strftime(_DATE_FORMAT)} + 15 min.)"
        )


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _canonical_path(raw_path: bytes) -> str:
    path = raw_path.decode("latin-1")
    # RFC 3986's dot segments and empty segments removed (AWS asks for both), then the
    # already encoded path encoded once more, as botocore signs it.
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    trailing = "/" if path.endswith("/") and segments else ""
    return quote("/" + "/".join(segments) + trailing, safe="/~")


def _canonical_query(query: bytes) -> str:
    if not query:
        return ""
    pairs = []
    for item in query.decode("latin-1").split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        pairs.append((quote(unquote(name), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))
