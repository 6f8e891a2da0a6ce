"""A client of the public X API v2, the few endpoints the connector needs, with ``requests``.

Every call names its base URL (CARELINE_X_API_BASE_URL: https://api.x.com, or a local server
implementing the same contract) and the account's token (an OAuth 2.0 user access token, sent as
``Authorization: Bearer``). The token never appears in an error or a log line. What an answer
says about the rate limit (``x-rate-limit-remaining``, ``x-rate-limit-reset``) comes back with
it; a 429 raises RateLimited with the moment the window resets, a 401 Unauthorized, X's refusal
of a duplicate post DuplicateContent, anything else unusable XError. ``token_refresh`` renews
an access token at X's OAuth 2.0 token endpoint.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import requests

# Asked of every tweet read: enough to file it in the inbox and to reply in its thread.
TWEET_FIELDS = "author_id,conversation_id,created_at,in_reply_to_user_id,referenced_tweets"
EXPANSIONS = "author_id,referenced_tweets.id"
USER_FIELDS = "name,username"
# When an answer gives no reset time with its 429, X's windows are 15 minutes.
DEFAULT_WINDOW_SECONDS = 15 * 60


class XError(Exception):
    """X answered something unusable, or not at all. ``status`` is None without an answer."""

    def __init__(self, message: str, *, status: int | None = None, limits: RateLimit | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.limits = limits or RateLimit()


class NoAnswer(XError):
    """The request may or may not have reached X (a timeout, a dropped connection): whether a
    post was made is unknown until it is looked up."""


class Unauthorized(XError):
    """401: the token was revoked, expired or is wrong; someone must connect the account again."""


class RateLimited(XError):
    """429: no more calls to this endpoint until ``reset_at``."""

    def __init__(self, message: str, *, reset_at: dt.datetime, limits: RateLimit) -> None:
        super().__init__(message, status=429, limits=limits)
        self.reset_at = reset_at


class DuplicateContent(XError):
    """403: X refuses a post whose text the account posted recently."""


@dataclass(frozen=True)
class RateLimit:
    """What an answer said about its endpoint's window (None: it did not say)."""

    remaining: int | None = None
    reset_at: dt.datetime | None = None


@dataclass(frozen=True)
class Tweet:
    id: str
    text: str
    author_id: str
    created_at: dt.datetime | None
    conversation_id: str = ""
    in_reply_to_user_id: str = ""
    replied_to_id: str = ""  # the tweet it answers, if it is a reply
    author_username: str = ""
    author_name: str = ""


@dataclass(frozen=True)
class Page:
    """One page of a timeline, newest first, with the ``meta`` X sent."""

    tweets: list[Tweet]
    newest_id: str | None
    next_token: str | None
    limits: RateLimit = field(default_factory=RateLimit)


@dataclass(frozen=True)
class Posted:
    """A tweet or a direct message X accepted: its id (the DM event's id for a message)."""

    id: str
    limits: RateLimit = field(default_factory=RateLimit)


@dataclass(frozen=True)
class DirectMessage:
    id: str
    text: str
    sender_id: str
    created_at: dt.datetime | None


class XClient:
    """Calls to X as one account, authorised by its token."""

    def __init__(self, *, base_url: str, token: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout = timeout

    def __repr__(self) -> str:  # never the token
        return f"XClient({self.base_url!r})"

    # ---- reading -----------------------------------------------------------------------------

    def mentions(
        self,
        *,
        user_id: str,
        since_id: str | None = None,
        pagination_token: str | None = None,
        max_results: int = 100,
    ) -> Page:
        """GET /2/users/:id/mentions: tweets mentioning the account, newest first, newer than
        ``since_id`` when given, authors expanded."""
        params = {
            "max_results": str(max_results),
            "tweet.fields": TWEET_FIELDS,
            "expansions": EXPANSIONS,
            "user.fields": USER_FIELDS,
        }
        if since_id:
            params["since_id"] = since_id
        if pagination_token:
            params["pagination_token"] = pagination_token
        return self._page(self._call("GET", f"/2/users/{user_id}/mentions", params=params))

    def mentions_since(self, *, user_id: str, since_id: str | None, max_pages: int) -> Iterator[Page]:
        """Every page of mentions newer than ``since_id`` (only the first page without one: a
        new connection does not pull in the account's whole history), at most ``max_pages``."""
        token = None
        for _ in range(max_pages):
            page = self.mentions(user_id=user_id, since_id=since_id, pagination_token=token)
            yield page
            token = page.next_token
            if not token or not since_id:
                return

    def own_tweets(self, *, user_id: str, since_id: str | None = None) -> Page:
        """GET /2/users/:id/tweets: the account's latest tweets (replies included), newest first."""
        params = {"max_results": "100", "tweet.fields": TWEET_FIELDS}
        if since_id:
            params["since_id"] = since_id
        return self._page(self._call("GET", f"/2/users/{user_id}/tweets", params=params))

    def dm_events(self, *, participant_id: str) -> list[DirectMessage]:
        """GET /2/dm_conversations/with/:participant_id/dm_events: the latest messages of the
        account's conversation with someone, newest first."""
        params = {
            "event_types": "MessageCreate",
            "dm_event.fields": "id,text,sender_id,created_at",
            "max_results": "100",
        }
        body, _ = self._call("GET", f"/2/dm_conversations/with/{participant_id}/dm_events", params=params)
        return [
            DirectMessage(
                id=str(item["id"]),
                text=str(item.get("text", "")),
                sender_id=str(item.get("sender_id", "")),
                created_at=_moment(item.get("created_at")),
            )
            for item in body.get("data") or []
        ]

    # ---- writing -----------------------------------------------------------------------------

    def reply(self, *, text: str, in_reply_to_tweet_id: str) -> Posted:
        """POST /2/tweets with ``reply.in_reply_to_tweet_id``: the reply, in the mention's thread."""
        payload = {"text": text, "reply": {"in_reply_to_tweet_id": in_reply_to_tweet_id}}
        body, limits = self._call("POST", "/2/tweets", json=payload)
        return Posted(id=str(_data(body).get("id", "")), limits=limits)

    def direct_message(self, *, participant_id: str, text: str) -> Posted:
        """POST /2/dm_conversations/with/:participant_id/messages: a private message."""
        body, limits = self._call(
            "POST", f"/2/dm_conversations/with/{participant_id}/messages", json={"text": text}
        )
        return Posted(id=str(_data(body).get("dm_event_id", "")), limits=limits)

    # ---- the wire ----------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> tuple[dict[str, Any], RateLimit]:
        headers = {"Authorization": f"Bearer {self._token}"}
        return _request(method, self.base_url + path, headers=headers, timeout=self.timeout, **kwargs)

    @staticmethod
    def _page(answer: tuple[dict[str, Any], RateLimit]) -> Page:
        body, limits = answer
        users = {str(user.get("id")): user for user in (body.get("includes") or {}).get("users") or []}
        tweets = []
        for item in body.get("data") or []:
            author = users.get(str(item.get("author_id", "")), {})
            replied_to = next(
                (
                    ref.get("id")
                    for ref in item.get("referenced_tweets") or []
                    if ref.get("type") == "replied_to"
                ),
                "",
            )
            tweets.append(
                Tweet(
                    id=str(item["id"]),
                    text=str(item.get("text", "")),
                    author_id=str(item.get("author_id", "")),
                    created_at=_moment(item.get("created_at")),
                    conversation_id=str(item.get("conversation_id") or ""),
                    in_reply_to_user_id=str(item.get("in_reply_to_user_id") or ""),
                    replied_to_id=str(replied_to or ""),
                    author_username=str(author.get("username") or ""),
                    author_name=str(author.get("name") or ""),
                )
            )
        meta = body.get("meta") or {}
        return Page(
            tweets=tweets,
            newest_id=meta.get("newest_id"),
            next_token=meta.get("next_token"),
            limits=limits,
        )


@dataclass(frozen=True)
class Grant:
    """A new access token from X's OAuth 2.0 token endpoint, and the refresh token that
    replaces the one used (X's refresh tokens are good for one use)."""

    access_token: str
    refresh_token: str
    expires_in: int

    def __repr__(self) -> str:  # never the tokens
        return f"Grant(expires_in={self.expires_in})"


def token_refresh(
    *, base_url: str, client_id: str, client_secret: str, refresh_token: str, timeout: float = 10.0
) -> Grant:
    """POST /2/oauth2/token with ``grant_type=refresh_token``: a new access token for the account.
    A confidential client (with a secret) authenticates with HTTP Basic, a public one names its
    ``client_id``. A refresh token X no longer accepts raises Unauthorized."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    auth = (client_id, client_secret) if client_secret else None
    try:
        body, _ = _request(
            "POST", base_url.rstrip("/") + "/2/oauth2/token", data=form, auth=auth, timeout=timeout
        )
    except XError as refused:
        if refused.status in (400, 401):
            raise Unauthorized(
                f"X refused the refresh token ({refused.status}): connect the account again.", status=401
            ) from None
        raise
    access = str(body.get("access_token") or "")
    if not access:
        raise XError("X's token endpoint gave no access token.")
    return Grant(
        access_token=access,
        refresh_token=str(body.get("refresh_token") or refresh_token),
        expires_in=int(body.get("expires_in") or 7200),
    )


def _request(
    method: str, url: str, *, timeout: float, headers: dict[str, str] | None = None, **kwargs: Any
) -> tuple[dict[str, Any], RateLimit]:
    """One call to X: its JSON body and what it said of the rate limit, or the error it means."""
    try:
        answer = requests.request(
            method,
            url,
            headers={"User-Agent": "Careline", **(headers or {})},
            timeout=timeout,
            allow_redirects=False,
            **kwargs,
        )
    except requests.Timeout:
        raise NoAnswer(f"X did not answer within {timeout:g} s.") from None
    except requests.RequestException as failure:
        raise NoAnswer(f"Could not reach X: {type(failure).__name__}.") from None
    limits = _limits(answer)
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if answer.status_code == 429:
        reset_at = limits.reset_at or _now() + dt.timedelta(seconds=DEFAULT_WINDOW_SECONDS)
        raise RateLimited(
            f"X's rate limit: wait until {reset_at:%H:%M:%S} UTC.", reset_at=reset_at, limits=limits
        )
    if answer.status_code == 401:
        raise Unauthorized(
            "X refused the account's token (401): connect the account again.", status=401, limits=limits
        )
    if answer.status_code >= 400:
        detail = _detail(body) or answer.reason or "error"
        if answer.status_code == 403 and "duplicate" in detail.lower():
            raise DuplicateContent(f"X refused it as a duplicate: {detail}", status=403, limits=limits)
        raise XError(
            f"X answered {answer.status_code}: {detail}"[:500], status=answer.status_code, limits=limits
        )
    return body, limits


def _data(body: dict[str, Any]) -> dict[str, Any]:
    data = body.get("data")
    if not isinstance(data, dict):
        raise XError("X's answer had no data.", status=None)
    return data


def _detail(body: dict[str, Any]) -> str:
    """The reason in an error answer: ``detail`` (problem format) or the first ``errors`` message."""
    if body.get("detail"):
        return str(body["detail"])
    if body.get("error_description"):  # the OAuth 2.0 token endpoint's errors
        return str(body["error_description"])
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("detail") or errors[0].get("message") or "")
    return str(body.get("title") or "")


def _limits(answer: requests.Response) -> RateLimit:
    remaining = answer.headers.get("x-rate-limit-remaining", "")
    reset = answer.headers.get("x-rate-limit-reset", "")
    return RateLimit(
        remaining=int(remaining) if remaining.isdigit() else None,
        reset_at=dt.datetime.fromtimestamp(int(reset), tz=dt.UTC) if reset.isdigit() else None,
    )


def _moment(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _now() -> dt.datetime:
    return dt.datetime.now(tz=dt.UTC)
