"""SigV4 checking against botocore's own signer: what botocore signs, the check accepts; any
change after signing, another secret or a stale date is refused with AWS's error names."""

from __future__ import annotations

import datetime as dt
import hashlib
from urllib.parse import urlsplit

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from dockyard.server.auth import SignatureRejected, check_signature, parse_authorization

KEY = "DYAK0123456789ABCDEF"
SECRET = "a-secret-of-forty-characters-0123456789x"


def _signed(
    url: str,
    body: bytes = b"{}",
    headers: dict[str, str] | None = None,
    secret: str = SECRET,
) -> AWSRequest:
    request = AWSRequest(method="POST", url=url, data=body, headers=headers or {})
    request.headers["Host"] = urlsplit(url).netloc
    SigV4Auth(Credentials(KEY, secret), "sagemaker", "us-east-1").add_auth(request)
    return request


def _check(
    request: AWSRequest,
    *,
    secret: str = SECRET,
    body: bytes | None = None,
    now: dt.datetime | None = None,
) -> None:
    parts = urlsplit(request.url)
    check_signature(
        parse_authorization(request.headers["Authorization"]),
        secret,
        method=request.method,
        raw_path=parts.path.encode(),
        query=parts.query.encode(),
        headers=[(k.lower().encode(), str(v).encode()) for k, v in request.headers.items()],
        body_sha256=hashlib.sha256(request.body if body is None else body).hexdigest(),
        now=now or dt.datetime.now(dt.UTC),
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5050/",
        "http://127.0.0.1:5050/endpoints/my-endpoint/invocations",
        "http://127.0.0.1:5050/endpoints/with%20space/invocations?b=2&a=1&a=0",
        "http://localhost/a/./b/../c//d/",
    ],
)
def test_what_botocore_signs_is_accepted(url: str) -> None:
    _check(_signed(url, headers={"X-Amz-Target": "SageMaker.ListModels"}))


def test_a_header_with_runs_of_spaces_is_folded_as_botocore_folds_it() -> None:
    _check(_signed("http://127.0.0.1/", headers={"X-Amz-Target": "  Logs.A   B  "}))


def test_another_secret_a_changed_body_or_path_do_not_match() -> None:
    request = _signed("http://127.0.0.1/", body=b'{"MaxResults": 1}')
    for change in (
        {"secret": "another-secret-of-forty-characters-0123"},
        {"body": b'{"MaxResults": 2}'},
    ):
        with pytest.raises(SignatureRejected) as caught:
            _check(request, **change)  # type: ignore[arg-type]
        assert caught.value.json_code == "InvalidSignatureException"
        assert caught.value.query_code == "SignatureDoesNotMatch"
        assert KEY in caught.value.message
    request.url = "http://127.0.0.1/other"
    with pytest.raises(SignatureRejected, match="does not match"):
        _check(request)


def test_a_content_hash_that_is_not_the_bodys_names_the_change() -> None:
    digest = hashlib.sha256(b"abc").hexdigest()  # signed as declared, as S3 clients do
    request = _signed("http://127.0.0.1/", body=b"abc", headers={"X-Amz-Content-SHA256": digest})
    _check(request)
    with pytest.raises(SignatureRejected, match="x-amz-content-sha256 header does not match"):
        _check(request, body=b"abd")


def test_a_date_more_than_15_minutes_away_is_refused_both_ways(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = dt.datetime.now(dt.UTC)
    request = _signed("http://127.0.0.1/")
    _check(request, now=now + dt.timedelta(minutes=14))
    with pytest.raises(SignatureRejected, match="Signature expired") as caught:
        _check(request, now=now + dt.timedelta(minutes=16))
    assert caught.value.json_code == "InvalidSignatureException"
    with pytest.raises(SignatureRejected, match="not yet current"):
        _check(request, now=now - dt.timedelta(minutes=16))


@pytest.mark.parametrize(
    ("header", "names"),
    [
        ("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=" + "0" * 64, "Credential"),
        (f"AWS4-HMAC-SHA256 Credential={KEY}/20260101/us-east-1/sagemaker/aws4_request", "Signed"),
        (
            f"AWS4-HMAC-SHA256 Credential={KEY}/20260101/aws4_request, SignedHeaders=host, "
            "Signature=" + "0" * 64,
            "Credential must read",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential={KEY}/20260101/us-east-1/sagemaker/aws4_request, "
            "SignedHeaders=host, Signature=xyz",
            "64 hexadecimal",
        ),
        ("AWS4-HMAC-SHA1 Credential=x", "unsupported signing algorithm"),
    ],
)
def test_an_incomplete_authorization_names_its_missing_part(header: str, names: str) -> None:
    with pytest.raises(SignatureRejected, match=names) as caught:
        parse_authorization(header)
    assert caught.value.json_code == "IncompleteSignatureException"
    assert caught.value.query_code == "IncompleteSignature"


def test_an_unsigned_host_or_a_missing_date_is_incomplete() -> None:
    request = _signed("http://127.0.0.1/")
    del request.headers["X-Amz-Date"]
    with pytest.raises(SignatureRejected, match="X-Amz-Date") as caught:
        _check(request)
    assert caught.value.json_code == "IncompleteSignatureException"
    request = _signed("http://127.0.0.1/")
    signed = request.headers["Authorization"]
    unsigned_host = signed.replace("SignedHeaders=host;", "SignedHeaders=")
    del request.headers["Authorization"]  # setting a header again would add a second one
    request.headers["Authorization"] = unsigned_host
    with pytest.raises(SignatureRejected, match="'host' header must be signed"):
        _check(request)


def test_a_clock_botocore_reads_is_the_one_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    past = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=20)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: past)
    with pytest.raises(SignatureRejected, match="Signature expired"):
        _check(_signed("http://127.0.0.1/"))
