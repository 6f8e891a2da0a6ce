"""Where a reply goes out. Without a connected channel the agent posts the reply on the channel
themselves and marks it sent (console.services.mention_answer). A connector that can post for a
mention (connectors/, for a brand's X account) registers a sender here from its
``AppConfig.ready()``; the console then offers "Send", and the sender posts the reply before the
mention is answered. The console knows no connector: dependencies keep pointing down."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from django.contrib.auth.models import User as Account

from console.models import Mention
from kb.models import Response


@dataclass(frozen=True)
class Outlet:
    """How a mention's reply would go out through a sender: ``connected`` (posted by "Send") or
    not (``warning`` says why, and the agent marks it sent); ``last_error``: why the last try to
    post it failed, shown until it goes out."""

    channel: str  # "X"
    connected: bool
    warning: str = ""
    last_error: str = ""


class ReplySender(Protocol):
    def outlet_for(self, mention: Mention) -> Outlet | None:
        """The mention's outlet, or None when this sender has nothing to do with it."""

    def send(
        self,
        *,
        mention: Mention,
        text: str,
        agent: Account,
        response: Response | None = None,
        private: bool = False,
        force: bool = False,
        split: bool = False,
    ) -> Mention:
        """Post the reply (a direct message when ``private``; with ``split``, a reply over the
        channel's limit as its numbered parts, each answering the one before), then answer the
        mention as mention_answer does. Raises ValidationError, leaving the mention open, when
        the reply is refused or could not be posted."""


_senders: list[ReplySender] = []


def sender_register(sender: ReplySender) -> None:
    """Add a sender (idempotent: registering the same one again changes nothing)."""
    if sender not in _senders:
        _senders.append(sender)


def outbound_for(mention: Mention) -> tuple[ReplySender, Outlet] | None:
    """The first registered sender with an outlet for the mention, and that outlet."""
    for sender in _senders:
        outlet = sender.outlet_for(mention)
        if outlet is not None:
            return sender, outlet
    return None
