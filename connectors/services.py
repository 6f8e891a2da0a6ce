"""A brand's X account in the inbox: connecting it, reading its mentions, posting the replies.

Reading: each poll asks X for the mentions newer than the last one read (``since_id``, every page
of them), files each as an inbox mention (console.services.mention_receive: the tweet id is its
external id, so reading one twice changes nothing) and only then moves ``since_id`` on. The
rate-limit headers are kept: with none left, or after a 429, the connection is not polled again
before ``x-rate-limit-reset``. A 401 marks the connection as needing re-authorisation; it is
neither polled nor posted through until someone gives it a new token. An access token given
with its refresh token is renewed a minute before it expires (X's last two hours), the row
locked so that the refresh token, good for one use, is spent once.

Posting: the attempt is recorded (committed) before X is called, one XPost per mention. A
reply X accepted is recorded with its id and the mention answered; a refusal leaves the
mention open with X's reason; no answer at all (a timeout, a dropped connection, a 5xx) leaves
the outcome unknown, and the next "Send" first looks on X for the account's reply to the
mention (its own tweets replying to it, or its last direct messages to the author) before
posting anything. A 403 for duplicate content is looked up the same way: it is either the
reply already posted, or a refusal to post the same text twice.

A reply over X's limit sent split goes out as a chain of numbered parts (XPostPart, created once
no earlier reply is found on X): part 1 replies to the mention, each next part to the tweet of
the part before. Each part is marked unknown before X is called and posted with its id as soon
as X answers; a retry skips the parts on X, looks up a part whose answer was lost (the account's
tweet replying to the one before it) and goes on from there. Once a part may be on X the parts
before it keep their words: a retry may change only the words after them.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User as Account
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from config.crypto import InvalidToken, secret_decrypt, secret_encrypt
from connectors.models import XConnection, XPost, XPostPart, XTweet
from connectors.x_api import (
    DuplicateContent,
    NoAnswer,
    RateLimit,
    RateLimited,
    Tweet,
    Unauthorized,
    XClient,
    XError,
    token_refresh,
)
from console.models import Mention
from console.services import mention_answer, mention_answer_check, mention_receive, reply_parts_for
from kb.channels import Channel
from kb.models import Brand, Response

logger = logging.getLogger(__name__)

HINT_LENGTH = 4
MAX_TOKEN = 2000
# At most this many pages of 100 mentions per poll: X serves the latest 800 this way.
MAX_PAGES = 8
# An access token is renewed this long before it expires (X's last two hours).
RENEW_BEFORE = timedelta(seconds=60)
# An attempt still "being posted" after this long lost its process: its outcome is unknown.
POSTING_LEASE = timedelta(seconds=60)


class TokenMissing(XError):
    """The connection's token cannot be read (its variable is unset, or no key decrypts it)."""


# ---- connecting -------------------------------------------------------------------------------


def connection_create(
    *,
    brand: Brand,
    account_id: str,
    created_by: Account,
    account_username: str = "",
    token: str = "",
    refresh_token: str = "",
    token_env: str = "",
) -> XConnection:
    """Connect a brand's X account (needs connectors.add_xconnection): its numeric user id and
    either its tokens (kept encrypted: the access token, its refresh token, or both) or the name
    of the environment variable holding the access token."""
    if not created_by.has_perm("connectors.add_xconnection"):
        raise PermissionDenied("Only administrators connect X accounts.")
    errors = connection_refusals(
        brand=brand, account_id=account_id, token=token, refresh_token=refresh_token, token_env=token_env
    )
    if errors:
        raise ValidationError(errors)
    connection = XConnection(
        brand=brand,
        account_id=account_id.strip(),
        account_username=account_username.strip().lstrip("@"),
        token_env=token_env.strip(),
    )
    _token_set(connection, token.strip(), refresh_token.strip())
    connection.full_clean()
    connection.save()
    return connection


def connection_refusals(
    *, brand: Brand | None, account_id: str, token: str, token_env: str, refresh_token: str = ""
) -> dict[str, str]:
    """What is wrong with a connection asked for, by field: a brand already connected, an
    account id that is not a number, no token and no variable (or both), a token too long."""
    errors: dict[str, str] = {}
    if brand is not None and XConnection.objects.filter(brand=brand).exists():
        errors["brand"] = f"{brand.name} already has an X account connected; change that one."
    if not account_id.strip().isdigit():
        errors["account_id"] = "The account's numeric X user id (not its @handle), e.g. 2244994945."
    errors.update(token_refusals(token=token, token_env=token_env, refresh_token=refresh_token))
    return errors


def connection_set_token(
    *,
    connection: XConnection,
    changed_by: Account,
    token: str = "",
    refresh_token: str = "",
    token_env: str = "",
) -> XConnection:
    """Give the connection new tokens (or a variable): it is connected again, polled and posted
    through (needs connectors.change_xconnection)."""
    if not changed_by.has_perm("connectors.change_xconnection"):
        raise PermissionDenied("Only administrators change X accounts' tokens.")
    errors = token_refusals(token=token, token_env=token_env, refresh_token=refresh_token)
    if errors:
        raise ValidationError(errors)
    connection.token_env = token_env.strip()
    _token_set(connection, token.strip(), refresh_token.strip())
    connection.status, connection.last_error, connection.rate_limited_until = (
        XConnection.Status.ACTIVE,
        "",
        None,
    )
    connection.full_clean()
    connection.save()
    return connection


def connection_set_paused(*, connection: XConnection, paused: bool, changed_by: Account) -> XConnection:
    """Stop reading and posting through the connection, or start again."""
    if not changed_by.has_perm("connectors.change_xconnection"):
        raise PermissionDenied("Only administrators pause X accounts.")
    if not paused and connection.status == XConnection.Status.NEEDS_REAUTH:
        raise ValidationError({"status": "This account needs a new token before it is resumed."})
    status = XConnection.Status.PAUSED if paused else XConnection.Status.ACTIVE
    XConnection.objects.filter(pk=connection.pk).update(status=status, updated_at=timezone.now())
    connection.status = status
    return connection


def token_refusals(*, token: str, token_env: str, refresh_token: str = "") -> dict[str, str]:
    """What is wrong with the credentials given for an account, by field: none at all, a
    variable as well as tokens, a token too long, a variable name that is none."""
    token, token_env, refresh_token = token.strip(), token_env.strip(), refresh_token.strip()
    if not (token or token_env or refresh_token):
        return {"token": "Give the account's access token, or the environment variable holding it."}
    if token_env and (token or refresh_token):
        return {"token_env": "Give the tokens or a variable, not both."}
    for field, value in (("token", token), ("refresh_token", refresh_token)):
        if len(value) > MAX_TOKEN:
            return {field: f"At most {MAX_TOKEN} characters."}
    if token_env and not token_env.replace("_", "").isalnum():
        return {"token_env": "A variable name: letters, digits and underscores."}
    if refresh_token and not settings.CARELINE_X_CLIENT_ID:
        return {
            "refresh_token": "Set CARELINE_X_CLIENT_ID (the X app's OAuth 2.0 client id) to renew tokens."
        }
    return {}


def _token_set(connection: XConnection, token: str, refresh_token: str = "") -> None:
    connection.token_encrypted = secret_encrypt(token) if token else ""
    connection.token_hint = token[-HINT_LENGTH:] if token else ""
    connection.refresh_token_encrypted = secret_encrypt(refresh_token) if refresh_token else ""
    connection.token_expires_at = None  # not known: a refresh token renews it at its first use


def connection_client(connection: XConnection) -> XClient:
    """A client calling X as the connection's account, its access token renewed first when it
    is about to expire and a refresh token can renew it. Raises TokenMissing, or Unauthorized
    when X refuses the refresh token."""
    if connection.refresh_token_encrypted and _expiring(connection):
        connection = _token_renew(connection)
    if connection.token_env:
        token = os.environ.get(connection.token_env, "")
        if not token:
            raise TokenMissing(
                f"The environment variable {connection.token_env} holding the token is not set."
            )
    else:
        try:
            token = secret_decrypt(connection.token_encrypted)
        except InvalidToken:
            raise TokenMissing("The token cannot be decrypted with CARELINE_ENCRYPTION_KEYS.") from None
    return XClient(
        base_url=settings.CARELINE_X_API_BASE_URL, token=token, timeout=settings.CARELINE_X_TIMEOUT_SECONDS
    )


def _expiring(connection: XConnection) -> bool:
    expires = connection.token_expires_at
    return expires is None or expires <= timezone.now() + RENEW_BEFORE


def _token_renew(connection: XConnection) -> XConnection:
    """Trade the refresh token for a new access token (and the next refresh token: each is
    good for one use). The connection's row stays locked meanwhile, so two processes never
    spend the same refresh token; one that waited finds the token renewed and uses it."""
    with transaction.atomic():
        locked = XConnection.objects.select_for_update().select_related("brand").get(pk=connection.pk)
        if not locked.refresh_token_encrypted or not _expiring(locked):
            return locked
        try:
            refresh_token = secret_decrypt(locked.refresh_token_encrypted)
        except InvalidToken:
            raise TokenMissing(
                "The refresh token cannot be decrypted with CARELINE_ENCRYPTION_KEYS."
            ) from None
        if not settings.CARELINE_X_CLIENT_ID:
            raise TokenMissing("CARELINE_X_CLIENT_ID is not set: the access token cannot be renewed.")
        grant = token_refresh(
            base_url=settings.CARELINE_X_API_BASE_URL,
            client_id=settings.CARELINE_X_CLIENT_ID,
            client_secret=settings.CARELINE_X_CLIENT_SECRET,
            refresh_token=refresh_token,
            timeout=settings.CARELINE_X_TIMEOUT_SECONDS,
        )
        _token_set(locked, grant.access_token, grant.refresh_token)
        locked.token_expires_at = timezone.now() + timedelta(seconds=grant.expires_in)
        locked.save(
            update_fields=[
                "token_encrypted",
                "token_hint",
                "refresh_token_encrypted",
                "token_expires_at",
                "updated_at",
            ]
        )
    return locked


# ---- reading mentions -------------------------------------------------------------------------


def mentions_poll(*, connection_id: int) -> int:
    """Read the connection's new mentions into the inbox; returns how many were new. A paused
    connection, one needing re-authorisation, one waiting out its rate limit or one another
    process is polling is left alone."""
    if not _poll_claim(connection_id):
        return 0
    connection = XConnection.objects.select_related("brand").get(pk=connection_id)
    try:
        return _mentions_read(connection)
    finally:
        XConnection.objects.filter(pk=connection_id).update(polling_until=None)


def _poll_claim(connection_id: int) -> bool:
    """Claim the connection for one poll, for as long as a poll can take: a worker that dies
    mid-poll leaves it to the next one after that."""
    now = timezone.now()
    lease = timedelta(seconds=(MAX_PAGES + 2) * settings.CARELINE_X_TIMEOUT_SECONDS + 60)
    free = Q(polling_until__isnull=True) | Q(polling_until__lt=now)
    waiting = Q(rate_limited_until__gt=now)
    due = XConnection.objects.filter(free, pk=connection_id, status=XConnection.Status.ACTIVE).exclude(
        waiting
    )
    return bool(due.update(polling_until=now + lease))


def _mentions_read(connection: XConnection) -> int:
    new = 0
    newest: str | None = None
    try:
        client = connection_client(connection)
        pages = client.mentions_since(
            user_id=connection.account_id, since_id=connection.since_id or None, max_pages=MAX_PAGES
        )
        for page in pages:
            newest = newest or page.newest_id
            for tweet in reversed(page.tweets):  # oldest first, as they arrived
                if tweet.author_id != connection.account_id:  # the brand's own tweets are no mentions
                    new += _tweet_receive(connection, tweet)
            _limits_record(connection, page.limits)
    except XError as failure:
        _failure_record(connection, failure)
        return new
    _since_advance(connection, newest)
    return new


def _tweet_receive(connection: XConnection, tweet: Tweet) -> int:
    now = timezone.now()
    with transaction.atomic():
        mention, created = mention_receive(
            text=tweet.text[:5000],
            external_id=tweet.id,
            channel=Channel.TWITTER,
            brand=connection.brand,
            author_handle=f"@{tweet.author_username}" if tweet.author_username else "",
            author_name=tweet.author_name[:200],
            received_at=min(tweet.created_at, now) if tweet.created_at else now,
            conversation_id=tweet.conversation_id,
            in_reply_to_id=tweet.replied_to_id,
        )
        XTweet.objects.get_or_create(
            mention=mention,
            defaults={
                "connection": connection,
                "author_id": tweet.author_id,
                "conversation_id": tweet.conversation_id,
                "in_reply_to_user_id": tweet.in_reply_to_user_id,
                "replied_to_id": tweet.replied_to_id,
            },
        )
    return int(created)


def _since_advance(connection: XConnection, newest: str | None) -> None:
    """Move ``since_id`` on to ``newest`` (never back: two polls may overlap)."""
    with transaction.atomic():
        locked = XConnection.objects.select_for_update().get(pk=connection.pk)
        fields = {"last_polled_at": timezone.now(), "last_error": ""}
        if newest and newest.isdigit() and (not locked.since_id or int(newest) > int(locked.since_id)):
            fields["since_id"] = newest
        XConnection.objects.filter(pk=connection.pk).update(**fields)


def _limits_record(connection: XConnection, limits: RateLimit) -> None:
    """Keep what X said of the mentions window; with no call left, wait for its reset."""
    fields: dict[str, object] = {}
    if limits.remaining is not None:
        fields["rate_limit_remaining"] = limits.remaining
        if limits.remaining == 0 and limits.reset_at:
            fields["rate_limited_until"] = limits.reset_at
    if fields:
        XConnection.objects.filter(pk=connection.pk).update(**fields)


def _failure_record(connection: XConnection, failure: XError) -> None:
    """A failed call: a 429 waits for the reset, a 401 needs a new token, anything else is
    tried again at the next poll. The error is kept for the admin."""
    fields: dict[str, object] = {"last_error": str(failure)[:500], "last_polled_at": timezone.now()}
    if isinstance(failure, RateLimited):
        fields["rate_limited_until"] = failure.reset_at
        fields["rate_limit_remaining"] = 0
    elif isinstance(failure, Unauthorized | TokenMissing):
        fields["status"] = XConnection.Status.NEEDS_REAUTH
    logger.warning("X connection %s: %s", connection.pk, failure)
    XConnection.objects.filter(pk=connection.pk).update(**fields)
    for name, value in fields.items():
        setattr(connection, name, value)


# ---- posting replies --------------------------------------------------------------------------


def connection_for(mention: Mention) -> XConnection | None:
    """The X account a mention's reply would be posted as: its brand's, for a tweet."""
    if mention.channel != Channel.TWITTER or mention.brand_id is None:
        return None
    return XConnection.objects.filter(brand_id=mention.brand_id).first()


@dataclass(frozen=True)
class _Claim:
    post: XPost
    look_up_first: bool  # an earlier attempt's outcome is unknown: it may be on X already
    earlier_kind: str = ""
    earlier_text: str = ""
    parts: tuple[str, ...] = ()  # the parts to post it as, once no earlier reply is found on X


class _PartFailed(Exception):
    """X refused a part of a chain, or did not answer: ``failure`` says how."""

    def __init__(self, failure: XError, part: XPostPart, total: int) -> None:
        super().__init__(str(failure))
        self.failure, self.part, self.total = failure, part, total


def reply_send(
    *,
    mention: Mention,
    text: str,
    agent: Account,
    response: Response | None = None,
    private: bool = False,
    force: bool = False,
    split: bool = False,
) -> Mention:
    """Post the agent's reply to a mention on X (a direct message to its author when
    ``private``; with ``split``, a public reply over X's limit as a chain of numbered parts) and
    answer the mention, as mention_answer records it. Refused first as mention_answer would
    refuse it; a post X refuses or does not answer raises ValidationError with the reason and
    leaves the mention open. Safe to repeat: a reply, or a part, already on X is never posted
    again."""
    connection = connection_for(mention)
    if connection is None or not connection.sends:
        raise ValidationError({"channel": "This mention's brand has no X account connected to post from."})
    parts = reply_parts_for(mention=mention, text=text) if split else []
    if private and len(parts) > 1:
        raise ValidationError(
            {"split": "A direct message goes out whole, never in parts: shorten it, or reply in public."}
        )
    mention_answer_check(
        mention=mention, text=text, agent=agent, response=response, force=force, split=split and not private
    )
    kind = XPost.Kind.DM if private else XPost.Kind.REPLY
    claim = _post_claim(mention, connection, text.strip(), kind, agent, parts if len(parts) > 1 else [])
    post = claim.post
    if post.status != XPost.Status.POSTED:
        _post_on_x(connection, mention, claim)
    return _answer(mention, post, agent, response)


def _post_claim(
    mention: Mention, connection: XConnection, text: str, kind: str, agent: Account, parts: list[str]
) -> _Claim:
    """The mention's XPost, claimed for this attempt (committed before X is called)."""
    now = timezone.now()
    being_posted = ValidationError({"text": "This reply is being posted right now; wait a moment."})
    try:
        with transaction.atomic():
            post = XPost.objects.select_for_update().filter(mention=mention).first()
            if post is None:
                post = XPost.objects.create(
                    mention=mention,
                    connection=connection,
                    kind=kind,
                    text=text,
                    status=XPost.Status.POSTING,
                    attempts=1,
                    attempted_at=now,
                    posted_by=agent,
                )
                return _Claim(post, look_up_first=False, parts=tuple(parts))
            if post.status == XPost.Status.POSTED:
                return _Claim(post, look_up_first=False)
            if post.status == XPost.Status.POSTING and post.attempted_at > now - POSTING_LEASE:
                raise being_posted
            chain = list(post.parts.all())
            if any(part.out for part in chain):
                _chain_keep(post, chain, text, kind, parts)
                claim = _Claim(post, look_up_first=False)
            else:  # nothing of it went out as parts: this attempt's words and parts replace it
                unknown = not chain and post.status in (XPost.Status.POSTING, XPost.Status.UNKNOWN)
                claim = _Claim(
                    post,
                    look_up_first=unknown,
                    earlier_kind=post.kind,
                    earlier_text=post.text,
                    parts=tuple(parts),
                )
                post.parts.all().delete()
                post.kind, post.text = kind, text
            post.connection = connection
            post.status, post.error, post.attempted_at, post.posted_by = XPost.Status.POSTING, "", now, agent
            post.attempts += 1
            post.save()
            return claim
    except IntegrityError:  # another request created it first
        raise being_posted from None


def _chain_keep(post: XPost, chain: list[XPostPart], text: str, kind: str, parts: list[str]) -> None:
    """A chain under way goes on with the parts that may be on X unchanged. The agent's new
    words replace the parts after them when they split into those same first parts; the same
    words again resume it; anything else is refused."""
    out = [part for part in chain if part.out]
    if kind == XPost.Kind.REPLY and [part.text for part in out] == parts[: len(out)] != parts:
        for part, new in zip(chain, parts, strict=True):
            if not part.out and part.text != new:
                part.text = new
                part.save(update_fields=["text"])
        post.text = text
    elif kind != post.kind or text != post.text:
        on_x = _parts_on_x(len(out), len(chain)).lower()
        raise ValidationError(
            {
                "text": f"This reply's {on_x} on X already: send it again as a public reply in parts, "
                "changing no word of what is on X, to post the rest."
            }
        )


def _post_on_x(connection: XConnection, mention: Mention, claim: _Claim) -> None:
    """Post the claimed reply (or the parts of it not on X yet) unless an earlier attempt is
    found on X (then that one is the reply, whatever the agent typed since); record how it went."""
    post = claim.post
    try:
        client = connection_client(connection)
        if claim.look_up_first:
            earlier = _posted_on_x(client, connection, mention, claim.earlier_kind, claim.earlier_text)
            if earlier is not None:
                post.kind, post.text = claim.earlier_kind, claim.earlier_text
                _post_record(
                    post,
                    kind=post.kind,
                    text=post.text,
                    status=XPost.Status.POSTED,
                    posted_id=earlier,
                    error="",
                    posted_at=timezone.now(),
                )
                return
        if claim.parts:
            XPostPart.objects.bulk_create(
                XPostPart(post=post, position=number, text=text) for number, text in enumerate(claim.parts, 1)
            )
        chain = list(post.parts.all())
        if chain:
            found = _chain_post(client, connection, mention, post, chain)
        else:
            try:
                found = _post(client, mention, post)
            except DuplicateContent as duplicate:
                earlier = _posted_on_x(client, connection, mention, post.kind, post.text)
                if earlier is None:
                    raise ValidationError(
                        {"text": f"{duplicate} Change the reply's wording and send it again."}
                    ) from None
                found = earlier
    except ValidationError as refused:
        _post_record(post, status=XPost.Status.FAILED, error=" ".join(refused.messages))
        raise
    except _PartFailed as stopped:
        _post_failed(connection, post, stopped.failure, stopped.part, stopped.total)
    except XError as failure:
        _post_failed(connection, post, failure)
    _post_record(post, status=XPost.Status.POSTED, posted_id=found, error="", posted_at=timezone.now())


def _chain_post(
    client: XClient, connection: XConnection, mention: Mention, post: XPost, chain: list[XPostPart]
) -> str:
    """Post the parts not on X yet, each replying to the tweet of the one before (the first to
    the mention), each recorded as soon as X answers; returns the first part's tweet id."""
    previous = mention.external_id
    total = len(chain)
    for part in chain:
        if part.status == XPostPart.Status.UNKNOWN:
            found = _reply_on_x(client, connection, previous)
            if found is not None:
                _part_record(post, part, status=XPostPart.Status.POSTED, posted_id=found)
        if part.status != XPostPart.Status.POSTED:
            _part_record(post, part, status=XPostPart.Status.UNKNOWN)  # X may post it and not say so
            try:
                posted = client.reply(text=part.text, in_reply_to_tweet_id=previous).id
            except DuplicateContent as duplicate:
                found = _reply_on_x(client, connection, previous)
                if found is None:
                    _part_record(post, part, status=XPostPart.Status.PENDING)
                    raise ValidationError({"text": _duplicate_part(duplicate, part, total)}) from None
                posted = found
            except XError as failure:
                if not _outcome_unknown(failure):
                    _part_record(post, part, status=XPostPart.Status.PENDING)
                raise _PartFailed(failure, part, total) from failure
            _part_record(post, part, status=XPostPart.Status.POSTED, posted_id=posted)
        previous = part.posted_id
    return chain[0].posted_id


def _part_record(post: XPost, part: XPostPart, *, status: str, posted_id: str = "") -> None:
    """Record how a part went, and renew the post's claim: a long chain keeps it."""
    now = timezone.now()
    fields: dict[str, object] = {"status": status, "posted_id": posted_id}
    if status == XPostPart.Status.POSTED:
        fields["posted_at"] = now
    XPostPart.objects.filter(pk=part.pk).update(**fields)
    for name, value in fields.items():
        setattr(part, name, value)
    XPost.objects.filter(pk=post.pk).update(attempted_at=now)


def _duplicate_part(duplicate: DuplicateContent, part: XPostPart, total: int) -> str:
    if part.position == 1:
        return f"{duplicate} Change the reply's wording and send it again."
    on_x = _parts_on_x(part.position - 1, total)
    return (
        f"{duplicate} {on_x} on X already: change the words from part {part.position} on and send it again."
    )


def _parts_on_x(count: int, total: int) -> str:
    return f"Part 1 of {total} is" if count == 1 else f"Parts 1 to {count} of {total} are"


def _post(client: XClient, mention: Mention, post: XPost) -> str:
    if post.kind == XPost.Kind.DM:
        author = XTweet.objects.filter(mention=mention).values_list("author_id", flat=True).first()
        if not author:
            raise ValidationError({"private": "The author's X user id is unknown: reply in public instead."})
        return client.direct_message(participant_id=author, text=post.text).id
    return client.reply(text=post.text, in_reply_to_tweet_id=mention.external_id).id


def _posted_on_x(
    client: XClient, connection: XConnection, mention: Mention, kind: str, text: str
) -> str | None:
    """The id of the account's reply to the mention if X has it: a tweet of its replying to the
    mention, or (a direct message) its latest message to the author with this text."""
    if kind == XPost.Kind.DM:
        author = XTweet.objects.filter(mention=mention).values_list("author_id", flat=True).first()
        if not author:
            return None
        for message in client.dm_events(participant_id=author):
            if message.sender_id == connection.account_id and message.text == text:
                return message.id
        return None
    return _reply_on_x(client, connection, mention.external_id)


def _reply_on_x(client: XClient, connection: XConnection, tweet_id: str) -> str | None:
    """The id of the account's tweet replying to ``tweet_id``, if X has one."""
    own = client.own_tweets(user_id=connection.account_id, since_id=tweet_id)
    return next((tweet.id for tweet in own.tweets if tweet.replied_to_id == tweet_id), None)


def _outcome_unknown(failure: XError) -> bool:
    return isinstance(failure, NoAnswer) or (failure.status or 0) >= 500


def _post_failed(
    connection: XConnection, post: XPost, failure: XError, part: XPostPart | None = None, total: int = 0
) -> None:
    """Record a post (or ``part`` of a chain of ``total``) X refused (it did not go out) or did
    not answer (maybe it did), and tell the agent; a refused token also marks the connection as
    needing re-authorisation."""
    unknown = _outcome_unknown(failure)
    if isinstance(failure, Unauthorized | TokenMissing):
        _failure_record(connection, failure)
    what = f"part {part.position} of {total}" if part else "the reply"
    if unknown:
        message = f"{failure} Whether {what} went out is unknown: Send again checks X before posting."
    elif part is not None and part.position > 1:
        on_x = _parts_on_x(part.position - 1, total)
        not_posted = f"Part {part.position} of {total} was not posted."
        message = f"{failure} {not_posted} {on_x} on X: Send again posts the rest."
    else:
        message = f"{failure} Nothing was posted."
    _post_record(post, status=XPost.Status.UNKNOWN if unknown else XPost.Status.FAILED, error=message[:500])
    raise ValidationError({"text": message})


def _post_record(post: XPost, **fields: object) -> None:
    XPost.objects.filter(pk=post.pk).update(**fields)
    for name, value in fields.items():
        setattr(post, name, value)


def _answer(mention: Mention, post: XPost, agent: Account, response: Response | None) -> Mention:
    """Answer the mention with the reply that went out (in parts: the same parts, split again
    from its text). It is on X whatever happened in the inbox meanwhile: taken by another agent,
    it is answered anyway; its draft retired, it is recorded as the agent's own reply."""
    split = post.parts.exists()
    try:
        return mention_answer(
            mention=mention, text=post.text, agent=agent, response=response, force=True, split=split
        )
    except ValidationError as refused:
        if response is None or "status" in refused.message_dict:
            raise ValidationError({"text": f"Posted on X, but {' '.join(refused.messages)}"}) from None
    return mention_answer(mention=mention, text=post.text, agent=agent, force=True, split=split)
