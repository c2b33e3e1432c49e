"""Where predictions go: an endpoint's own port, or the server's route for it when that port is
on the server machine's loopback and this process is elsewhere."""

from __future__ import annotations

import pytest

from dockyard.client.http import Client
from dockyard.client.sdk import answering_variant, invocations


@pytest.mark.parametrize(
    ("endpoint", "server", "expected"),
    [
        # The server on this machine: the endpoint's port is reachable as given.
        ("http://127.0.0.1:41000", "http://127.0.0.1:5050", "http://127.0.0.1:41000/invocations"),
        ("http://localhost:41000", "http://localhost:5050", "http://localhost:41000/invocations"),
        # An endpoint exposed on an address of its own: reachable from anywhere it is.
        ("http://10.0.0.7:41000", "http://10.0.0.5:5050", "http://10.0.0.7:41000/invocations"),
        # On the server machine's loopback, with the server elsewhere: through the server.
        (
            "http://127.0.0.1:41000",
            "http://dockyard.internal:5050",
            "http://dockyard.internal:5050/endpoints/w%2Fx/invocations",
        ),
        ("http://[::1]:41000", "https://10.0.0.5", "https://10.0.0.5/endpoints/w%2Fx/invocations"),
    ],
)
def test_predictions_go_where_this_process_can_reach(
    endpoint: str, server: str, expected: str
) -> None:
    with Client(server, token="dyt_abc_secret") as client:
        url, headers = invocations("w/x", endpoint, client)
    assert url == expected
    # The server's route is signed in as this process; the endpoint's own port never sees it.
    assert headers == ({"authorization": "Bearer dyt_abc_secret"} if "/endpoints/" in url else {})


def test_the_answering_variant_is_read_from_either_path() -> None:
    assert answering_variant({"x-dockyard-variant": "a"}) == "a"
    assert answering_variant({"x-amzn-invoked-production-variant": "b"}) == "b"
    assert answering_variant({}) is None
