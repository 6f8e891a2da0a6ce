"""POSTing one signed delivery to its receiver, connected to the addresses checked just before
(webhooks.addresses), so the name cannot be re-resolved elsewhere in between."""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from webhooks.addresses import AddressRefused, Receiver, receiver_resolve
from webhooks.signing import SIGNATURE_HEADER, signature_header

USER_AGENT = "Careline-Webhooks/1"


@dataclass(frozen=True)
class Outcome:
    """How one attempt went: the receiver's status code (None: no answer) and what went wrong."""

    status_code: int | None
    error: str = ""

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def delivery_post(*, url: str, secret: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST ``body`` to ``url``, signed with ``secret`` at this moment; never raises for the
    receiver's failings (refused address, no connection, timeout, any answer: see Outcome)."""
    try:
        receiver = receiver_resolve(url)
    except AddressRefused as refused:
        return Outcome(None, f"Refused: {refused}")
    signed = {
        **headers,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature_header(secret=secret, timestamp=int(time.time()), body=body),
    }
    error = "No address to connect to."
    for address in receiver.addresses:
        try:
            with requests.Session() as session:
                session.mount(f"{receiver.scheme}://", _PinnedAdapter(receiver.host))
                answer = session.post(
                    _pinned_url(url, address),
                    data=body,
                    headers={**signed, "Host": _host_header(receiver)},
                    timeout=settings.CARELINE_WEBHOOK_TIMEOUT_SECONDS,
                    allow_redirects=False,  # a redirect could lead anywhere; it is not a 2xx
                    stream=True,  # the answer's body is not read
                )
                answer.close()
                return Outcome(answer.status_code, "" if answer.ok else f"Answered {answer.status_code}.")
        except requests.Timeout:
            return Outcome(None, f"No answer within {settings.CARELINE_WEBHOOK_TIMEOUT_SECONDS} s.")
        except requests.ConnectionError as failure:  # try the host's next address
            error = f"Could not connect: {_reason(failure)}"
        except requests.RequestException as failure:
            return Outcome(None, f"{type(failure).__name__}: {failure}"[:500])
    return Outcome(None, error[:500])


class _PinnedAdapter(HTTPAdapter):
    """Connects to the address in the URL while TLS checks the certificate against ``host``
    (sent as SNI), as if the URL had named the host."""

    def __init__(self, host: str, **kwargs: Any) -> None:
        self.host = host
        super().__init__(**kwargs)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = self.host
            pool_kwargs["assert_hostname"] = self.host
        return host_params, pool_kwargs


def _pinned_url(url: str, address: str) -> str:
    parts = urlsplit(url)
    literal = f"[{address}]" if ipaddress.ip_address(address.split("%", 1)[0]).version == 6 else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def _host_header(receiver: Receiver) -> str:
    host = f"[{receiver.host}]" if ":" in receiver.host else receiver.host
    default = 443 if receiver.scheme == "https" else 80
    return host if receiver.port == default else f"{host}:{receiver.port}"


def _reason(failure: requests.ConnectionError) -> str:
    text = str(failure.args[0] if failure.args else failure)
    return text.rsplit(": ", 1)[-1][:300] or type(failure).__name__
