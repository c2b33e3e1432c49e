"""Passwords and bearer credentials: hashed, checked in constant time, parsed strictly."""

from __future__ import annotations

from dockyard.server.auth._secrets import (
    hash_password,
    new_credential,
    parse_credential,
    verify_password,
)


def test_password_hashes_are_salted_scrypt_and_verify() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("scrypt$32768$8$1$") and first != second
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct horsE", first)


def test_malformed_or_missing_hashes_never_verify() -> None:
    for stored in (None, "", "plain", "md5$1$2$3$4$5", "scrypt$x$8$1$AA$AA"):
        assert not verify_password("anything", stored)
    assert not verify_password("x" * 5000, hash_password("x" * 8))


def test_credentials_round_trip_and_refuse_foreign_text() -> None:
    credential = new_credential()
    text = credential.text("dyt")
    parsed = parse_credential(text, "dyt")
    assert parsed == credential and parsed.digest == credential.digest
    assert credential.secret not in credential.digest
    for bad in ("", "dyt", "dys_" + text[4:], "dyt_short_secret", "dyt_" + "a" * 12, "bearer"):
        assert parse_credential(bad, "dyt") is None
