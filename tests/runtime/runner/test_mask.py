from __future__ import annotations

from dockyard.runtime.runner._mask import Masker


def test_secrets_lines_of_a_multiline_one_and_not_short_values() -> None:
    pem = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----"
    masker = Masker(["hunter22", "abc", pem, "hunter22-and-more"])
    assert masker
    assert masker.line(b"pw hunter22-and-more, hunter22\n") == b"pw ******, ******\n"
    assert masker.line(b"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n") == b"******\n"
    assert masker.text("abc stays: too short to hide anything") == (
        "abc stays: too short to hide anything"
    )
    assert not Masker([]) and Masker([]).line(b"x\n") == b"x\n"
