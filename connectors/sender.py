"""The X account as the console's way out for a mention's reply (registered in ConnectorsConfig.ready)."""

from __future__ import annotations

from dataclasses import dataclass

from connectors.models import XConnection, XPost
from connectors.services import connection_for, reply_send
from console.models import Mention
from console.outbound import Outlet


@dataclass(frozen=True)  # equal instances: registering twice registers once
class XSender:
    """Replies to tweets of a brand with an X account connected go out as that account."""

    def outlet_for(self, mention: Mention) -> Outlet | None:
        connection = connection_for(mention)
        if connection is None:
            return None
        post = XPost.objects.filter(mention=mention).only("status", "error").first()
        failed = post is not None and post.status in (XPost.Status.FAILED, XPost.Status.UNKNOWN)
        warning = ""
        if connection.status == XConnection.Status.NEEDS_REAUTH:
            warning = (
                f"The X account @{connection.account_username or connection.account_id} needs "
                "re-authorisation: post the reply on X yourself and mark it sent, or ask an "
                "administrator to connect it again."
            )
        elif connection.status == XConnection.Status.PAUSED:
            warning = "Posting to X is paused for this brand: post the reply on X yourself and mark it sent."
        return Outlet(
            channel="X",
            connected=connection.sends,
            warning=warning,
            last_error=post.error if failed and post else "",
        )

    # Posts and answers, as console.outbound.ReplySender.send says.
    send = staticmethod(reply_send)
