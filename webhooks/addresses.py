"""Which receivers a webhook may reach: http(s) URLs whose host resolves only to public
addresses. Loopback, private, link-local, shared, reserved and multicast addresses are refused,
when subscribing and again at every delivery (the addresses then resolved are the ones
connected to, so a name that later resolves elsewhere cannot redirect a delivery), unless
CARELINE_WEBHOOK_ALLOW_PRIVATE is on."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

SCHEMES = ("http", "https")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(Exception):
    """The receiver's URL or address is not one a webhook may reach (the message says why)."""


@dataclass(frozen=True)
class Receiver:
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]  # resolved and allowed, in the resolver's order


def url_shape_refusal(url: str) -> str | None:
    """Why ``url`` cannot be a receiver before any name is looked up (None: it can)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Enter a valid URL."
    if parts.scheme not in SCHEMES:
        return "Only http and https URLs can receive webhooks."
    if not parts.hostname:
        return "Enter a valid URL."
    if parts.username or parts.password:
        return "Put no credentials in the URL; deliveries are signed with the secret."
    if port == 0:
        return "Enter a valid URL."
    return None


def address_refusal(address: str) -> str | None:
    """Why a webhook may not reach ``address`` (None: it may)."""
    ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if settings.CARELINE_WEBHOOK_ALLOW_PRIVATE or (ip.is_global and not ip.is_multicast):
        return None
    kind = (
        "loopback"
        if ip.is_loopback
        else "link-local"
        if ip.is_link_local
        else "private"
        if ip.is_private
        else "reserved"
    )
    return f"{ip} is a {kind} address; webhooks reach public addresses only."


def receiver_resolve(url: str, *, unresolvable_ok: bool = False) -> Receiver:
    """The receiver ``url`` names, with the addresses its host resolves to. Raises AddressRefused
    when the URL is not a receiver's or any address is refused; and when the name does not
    resolve, unless ``unresolvable_ok`` (when subscribing: the name may exist by the time of the
    first delivery, which checks again)."""
    refused = url_shape_refusal(url)
    if refused:
        raise AddressRefused(refused)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if _is_literal(host):  # checked as written: a scoped or odd literal may not resolve here
        refused = address_refusal(host)
        if refused:
            raise AddressRefused(refused)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as failure:
        if unresolvable_ok:
            return Receiver(parts.scheme, host, port, ())
        raise AddressRefused(f"{host} could not be resolved ({failure}).") from None
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in found))
    for address in addresses:
        refused = address_refusal(address)
        if refused:
            raise AddressRefused(refused)
    return Receiver(parts.scheme, host, port, addresses)


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True
