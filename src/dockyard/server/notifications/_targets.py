"""Where a subscription may send: http(s) URLs and email addresses, with an SSRF guard.

A webhook URL is checked when a subscription is saved (scheme, host, a literal address) and
again when the sender opens a connection, after DNS resolution (:mod:`._http`), so a name that
later resolves to an internal address is refused too. Loopback, private, link-local and
reserved addresses are refused unless ``webhook_allow_private`` is set: a subscription must not
turn the server into a probe of its own network.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from dockyard.errors import InvalidArgument

__all__ = ["check_email", "check_url", "internal_address"]

# One mailbox: a dot-atom local part (RFC 5322's atext, no quoting) and a domain. Anything
# wider is more than an address: "root,x@example.com" is read by the mail library as two
# recipients (a bare local "root" on the relay) and "a<b>c@example.com" as the mailbox "b".
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL = re.compile(rf"^(?=[^@]{{1,64}}@){_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9.-]{{1,253}}$")
# A DNS name as a resolver takes it: dot-separated labels of letters, digits, '-' and '_'.
_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


#: Not globally reachable, though some Python versions' ``is_global`` says otherwise (3.11:
#: the IETF protocol assignments block).
_NOT_GLOBAL = (ipaddress.ip_network("192.0.0.0/24"),)


def internal_address(address: str) -> bool:
    """Whether ``address`` (an IP literal) is loopback, private, link-local, reserved or
    otherwise not globally reachable (the shared address space ``100.64.0.0/10``, where some
    clouds serve instance metadata, e.g. ``100.100.100.200``), or an IPv6 address that carries
    such an IPv4 address to a gateway (IPv4-mapped, 6to4, Teredo; NAT64's prefix is reserved)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        carried = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if carried is not None and internal_address(str(carried)):
            return True
    return (
        not ip.is_global
        or any(ip in network for network in _NOT_GLOBAL if network.version == ip.version)
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def check_url(url: str, *, allow_private: bool, field: str = "endpoint") -> str:
    """The URL, or InvalidArgument: not http(s), no host, or an internal literal address."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidArgument(f"{url!r} is not a URL: {exc}", field=field) from exc
    if parts.scheme not in ("http", "https"):
        raise InvalidArgument(f"{url!r}: webhooks are http:// or https:// URLs", field=field)
    host = parts.hostname
    if not host:
        raise InvalidArgument(f"{url!r} names no host", field=field)
    del port
    # Such a URL is never delivered to: every attempt would fail until the retry horizon.
    if any(not c.isprintable() for c in url):
        raise InvalidArgument(f"{url!r} holds a control character", field=field)
    if not _host_name(host):
        raise InvalidArgument(f"{url!r}: {host!r} is not a host name or address", field=field)
    if not allow_private:
        literal = host = host.rstrip(".")
        if host == "localhost" or host.endswith(".localhost"):
            literal = "127.0.0.1"
        try:
            internal = internal_address(literal)
        except ValueError:
            internal = False  # a name: checked after resolution, at each send
        if internal:
            raise InvalidArgument(
                f"{url!r} is a loopback or private address; the server refuses those unless "
                "DOCKYARD_WEBHOOK_ALLOW_PRIVATE=true",
                field=field,
            )
    return url


def _host_name(host: str) -> bool:
    """Whether ``host`` (lower-cased, brackets stripped) is an IP literal or a DNS name
    (international names in their IDNA form)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.removesuffix(".").split(".")
    return len(ascii_host) <= 253 and all(_LABEL.match(label) for label in labels)


def check_email(address: str, field: str = "endpoint") -> str:
    if address.startswith("mailto:"):
        address = address[len("mailto:") :]
    if not _EMAIL.match(address):
        raise InvalidArgument(
            f"{address!r} is not one email address: a local part of letters, digits and "
            "!#$%&'*+/=?^_`{|}~- (dots between them, no quotes, commas or brackets), '@', "
            "a domain",
            field=field,
        )
    return address
