"""A local HTTP server implementing the parts of the public X API v2 contract the connector
calls, with their documented request and answer shapes: the mentions timeline (``since_id``,
``pagination_token``, ``meta.newest_id`` / ``next_token``, ``includes.users``), an account's own
tweets, posting a tweet (``reply.in_reply_to_tweet_id``; 403 for duplicate content), and direct
messages. Every answer carries ``x-rate-limit-*`` headers; it answers 429 once a window's calls
are used up, 401 for a token it does not know, and can lose a post's answer after making it.
Its OAuth 2.0 token endpoint trades a refresh token (each good for one use) for a new access
token that expires.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

BRAND_ID = "1500000000000000001"
BRAND_USERNAME = "AcmeAir"
TOKEN = "x-user-token-7f3a9c2e51d84b60"
REFRESH_TOKEN = "x-refresh-token-0c4d2a7be913"
CLIENT_ID, CLIENT_SECRET = "careline-x-app", "careline-x-app-secret"


@dataclass
class User:
    id: str
    username: str
    name: str


@dataclass
class Tweet:
    id: str
    text: str
    author_id: str
    created_at: str
    conversation_id: str
    in_reply_to_user_id: str = ""
    replied_to_id: str = ""

    def as_json(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": self.id,
            "text": self.text,
            "author_id": self.author_id,
            "created_at": self.created_at,
            "conversation_id": self.conversation_id,
            "edit_history_tweet_ids": [self.id],
        }
        if self.in_reply_to_user_id:
            item["in_reply_to_user_id"] = self.in_reply_to_user_id
        if self.replied_to_id:
            item["referenced_tweets"] = [{"type": "replied_to", "id": self.replied_to_id}]
        return item


@dataclass
class Message:
    id: str
    conversation_id: str
    sender_id: str
    recipient_id: str
    text: str
    created_at: str


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None
    authorization: str


@dataclass
class FakeX:
    """``limit`` calls per endpoint per window of ``window`` seconds; ``tokens``: the tokens it
    accepts (``revoke()`` empties it); ``lose_answers``: that many posts are made and then the
    connection is closed without an answer, once ``answer_first`` posts have been answered."""

    limit: int = 900
    window: int = 900
    tokens: set[str] = field(default_factory=lambda: {TOKEN})
    lose_answers: int = 0
    answer_first: int = 0
    refresh_tokens: set[str] = field(default_factory=lambda: {REFRESH_TOKEN})
    expires_in: int = 7200
    expiry: dict[str, float] = field(default_factory=dict)  # access token -> when it expires
    users: dict[str, User] = field(default_factory=dict)
    tweets: list[Tweet] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    port: int = 0
    server: ThreadingHTTPServer | None = None
    _used: dict[str, int] = field(default_factory=dict)
    _reset: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Any = field(default_factory=lambda: itertools.count(1_800_000_000_000_000_000, 7))

    def __post_init__(self) -> None:
        self.users[BRAND_ID] = User(BRAND_ID, BRAND_USERNAME, "Acme Air")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- what the test does on X ---------------------------------------------------------------

    def mention(
        self, text: str, *, username: str = "jane", name: str = "Jane Doe", reply_to: str = ""
    ) -> str:
        """A customer tweets at the brand; returns the tweet's id."""
        author = self._user(username, name)
        with self._lock:
            tweet_id = self._next_id()
            parent = next((t for t in self.tweets if t.id == reply_to), None)
            self.tweets.append(
                Tweet(
                    id=tweet_id,
                    text=text if text.startswith(f"@{BRAND_USERNAME}") else f"@{BRAND_USERNAME} {text}",
                    author_id=author.id,
                    created_at=_now(),
                    conversation_id=parent.conversation_id if parent else tweet_id,
                    in_reply_to_user_id=parent.author_id if parent else BRAND_ID,
                    replied_to_id=reply_to,
                )
            )
        return tweet_id

    def replies_to(self, tweet_id: str) -> list[Tweet]:
        """The brand's tweets replying to a tweet."""
        return [t for t in self.tweets if t.author_id == BRAND_ID and t.replied_to_id == tweet_id]

    def chain_from(self, tweet_id: str) -> list[Tweet]:
        """The brand's replies to a tweet, then to each reply in turn (one each, or it stops)."""
        chain: list[Tweet] = []
        while len(replies := self.replies_to(chain[-1].id if chain else tweet_id)) == 1:
            chain.append(replies[0])
        return chain

    def posted_earlier(self, text: str) -> None:
        """The brand tweeted ``text`` before, on its own (so X refuses the same text again)."""
        with self._lock:
            tweet_id = self._next_id()
            self.tweets.append(Tweet(tweet_id, text, BRAND_ID, _now(), tweet_id))

    def messages_to(self, username: str) -> list[Message]:
        user = next(u for u in self.users.values() if u.username == username)
        return [m for m in self.messages if m.recipient_id == user.id and m.sender_id == BRAND_ID]

    def revoke(self) -> None:
        self.tokens.clear()

    def exhaust(self, endpoint: str = "mentions") -> None:
        """Use up the current window of an endpoint ("mentions", "tweets", "post", "dm")."""
        with self._lock:
            self._window(endpoint)
            self._used[endpoint] = self.limit

    def calls_to(self, method: str, fragment: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and fragment in c.path]

    # ---- the server ----------------------------------------------------------------------------

    def up(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        # A short poll interval: shutting the server down after each test waits for one.
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        body = None
        if method == "POST":
            raw = request.rfile.read(int(request.headers.get("Content-Length", 0)))
            form = "x-www-form-urlencoded" in request.headers.get("Content-Type", "")
            body = dict(parse_qsl(raw.decode())) if form else json.loads(raw or b"{}")
        authorization = request.headers.get("Authorization", "")
        self.calls.append(Call(method, parts.path, query, body, authorization))
        if method == "POST" and parts.path == "/2/oauth2/token":
            with self._lock:
                status, answer = self._grant(authorization, body or {})
            return _answer(request, status, answer, {})
        route = self._route(method, parts.path.split("/"))
        if route is None:
            return _answer(request, 404, _problem(404, "Not Found", "Unknown endpoint."), {})
        endpoint, handler, arg = route
        token = authorization.removeprefix("Bearer ")
        if token not in self.tokens or self.expiry.get(token, float("inf")) < time.time():
            return _answer(request, 401, _problem(401, "Unauthorized", "Unauthorized"), {})
        with self._lock:
            reset = self._window(endpoint)
            used = self._used[endpoint]
            if used >= self.limit:
                headers = _limit_headers(self.limit, 0, reset)
                return _answer(request, 429, _problem(429, "Too Many Requests", "Too Many Requests"), headers)
            self._used[endpoint] = used + 1
            headers = _limit_headers(self.limit, self.limit - used - 1, reset)
            status, answer = handler(arg, query, body or {})
            lose = False
            if method == "POST" and status == 201:
                if self.answer_first > 0:
                    self.answer_first -= 1
                elif self.lose_answers > 0:
                    self.lose_answers, lose = self.lose_answers - 1, True
        if lose:  # made, and the answer lost on the way
            request.close_connection = True
            request.connection.close()
            return
        _answer(request, status, answer, headers)

    def _route(self, method: str, segments: list[str]) -> tuple[str, Any, str] | None:
        # ["", "2", "users", ":id", "mentions"] and the like
        if method == "GET" and len(segments) == 5 and segments[2] == "users":
            if segments[4] == "mentions":
                return "mentions", self._mentions, segments[3]
            if segments[4] == "tweets":
                return "tweets", self._own_tweets, segments[3]
        if method == "POST" and segments[1:] == ["2", "tweets"]:
            return "post", self._post, ""
        if len(segments) == 6 and segments[2:4] == ["dm_conversations", "with"]:
            if method == "POST" and segments[5] == "messages":
                return "dm", self._message, segments[4]
            if method == "GET" and segments[5] == "dm_events":
                return "dm_events", self._dm_events, segments[4]
        return None

    # ---- endpoints (called under the lock) ------------------------------------------------------

    def _mentions(self, user_id: str, query: dict[str, str], body: dict) -> tuple[int, dict]:
        handle = "@" + self.users[user_id].username.lower()
        found = [t for t in self.tweets if handle in t.text.lower() and t.author_id != user_id]
        return 200, self._timeline(found, query, expand=True)

    def _own_tweets(self, user_id: str, query: dict[str, str], body: dict) -> tuple[int, dict]:
        return 200, self._timeline([t for t in self.tweets if t.author_id == user_id], query, expand=False)

    def _timeline(self, found: list[Tweet], query: dict[str, str], *, expand: bool) -> dict:
        since = int(query.get("since_id") or 0)
        newest_first = sorted((t for t in found if int(t.id) > since), key=lambda t: int(t.id), reverse=True)
        size = int(query.get("max_results") or 10)
        start = int(query.get("pagination_token") or 0)
        page = newest_first[start : start + size]
        if not page:
            return {"meta": {"result_count": 0}}
        meta: dict[str, Any] = {"result_count": len(page), "newest_id": page[0].id, "oldest_id": page[-1].id}
        if start + size < len(newest_first):
            meta["next_token"] = str(start + size)
        answer: dict[str, Any] = {"data": [t.as_json() for t in page], "meta": meta}
        if expand and "author_id" in query.get("expansions", ""):
            authors = {t.author_id for t in page}
            answer["includes"] = {
                "users": [
                    {"id": u.id, "username": u.username, "name": u.name}
                    for u in self.users.values()
                    if u.id in authors
                ]
            }
        return answer

    def _post(self, _: str, query: dict[str, str], body: dict) -> tuple[int, dict]:
        text = str(body.get("text", ""))
        if not text:
            return 400, _problem(
                400, "Invalid Request", "One or more parameters to your request was invalid."
            )
        if any(t.author_id == BRAND_ID and t.text == text for t in self.tweets):
            return 403, _problem(
                403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."
            )
        replied_to = str((body.get("reply") or {}).get("in_reply_to_tweet_id", ""))
        parent = next((t for t in self.tweets if t.id == replied_to), None)
        if replied_to and parent is None:
            return 400, _problem(400, "Invalid Request", "The tweet you are replying to does not exist.")
        tweet_id = self._next_id()
        self.tweets.append(
            Tweet(
                id=tweet_id,
                text=text,
                author_id=BRAND_ID,
                created_at=_now(),
                conversation_id=parent.conversation_id if parent else tweet_id,
                in_reply_to_user_id=parent.author_id if parent else "",
                replied_to_id=replied_to,
            )
        )
        return 201, {"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}}

    def _message(self, participant_id: str, query: dict[str, str], body: dict) -> tuple[int, dict]:
        if participant_id not in self.users:
            return 400, _problem(400, "Invalid Request", "The participant does not exist.")
        event_id = self._next_id()
        conversation = f"{min(BRAND_ID, participant_id)}-{max(BRAND_ID, participant_id)}"
        self.messages.append(
            Message(event_id, conversation, BRAND_ID, participant_id, str(body.get("text", "")), _now())
        )
        return 201, {"data": {"dm_conversation_id": conversation, "dm_event_id": event_id}}

    def _dm_events(self, participant_id: str, query: dict[str, str], body: dict) -> tuple[int, dict]:
        found = [m for m in self.messages if participant_id in (m.sender_id, m.recipient_id)]
        events = [
            {
                "id": m.id,
                "event_type": "MessageCreate",
                "text": m.text,
                "sender_id": m.sender_id,
                "created_at": m.created_at,
                "dm_conversation_id": m.conversation_id,
            }
            for m in reversed(found)
        ]
        return 200, {"data": events, "meta": {"result_count": len(events)}} if events else {
            "meta": {"result_count": 0}
        }

    def _grant(self, authorization: str, form: dict) -> tuple[int, dict]:
        """POST /2/oauth2/token, grant_type=refresh_token, the client by HTTP Basic."""
        try:
            client = base64.b64decode(authorization.removeprefix("Basic ")).decode()
        except ValueError:  # no Basic credentials
            client = ""
        if client != f"{CLIENT_ID}:{CLIENT_SECRET}":
            return 401, {
                "error": "unauthorized_client",
                "error_description": "Missing valid authorization header",
            }
        spent = form.get("refresh_token", "")
        if form.get("grant_type") != "refresh_token" or spent not in self.refresh_tokens:
            return 400, {
                "error": "invalid_request",
                "error_description": "Value passed for the token was invalid.",
            }
        self.refresh_tokens.discard(spent)
        number = self._next_id()
        access, refresh = f"x-access-{number}", f"x-refresh-{number}"
        self.tokens.add(access)
        self.expiry[access] = time.time() + self.expires_in
        self.refresh_tokens.add(refresh)
        scope = "tweet.read tweet.write users.read dm.read dm.write offline.access"
        grant = {
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "access_token": access,
            "scope": scope,
        }
        return 200, {**grant, "refresh_token": refresh}

    def expire(self, token: str) -> None:
        """An access token runs out."""
        self.expiry[token] = 0.0

    # ---- helpers -------------------------------------------------------------------------------

    def _user(self, username: str, name: str) -> User:
        with self._lock:
            for user in self.users.values():
                if user.username == username:
                    return user
            user = User(str(2_000_000_000 + len(self.users)), username, name)
            self.users[user.id] = user
            return user

    def _next_id(self) -> str:
        return str(next(self._ids))

    def _window(self, endpoint: str) -> int:
        now = int(time.time())
        if self._reset.get(endpoint, 0) <= now:
            self._reset[endpoint] = now + self.window
            self._used[endpoint] = 0
        return self._reset[endpoint]


def _problem(status: int, title: str, detail: str) -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": "about:blank", "status": status}


def _limit_headers(limit: int, remaining: int, reset: int) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(reset),
    }


def _answer(request: BaseHTTPRequestHandler, status: int, body: dict, headers: dict[str, str]) -> None:
    raw = json.dumps(body).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json; charset=utf-8")
    request.send_header("Content-Length", str(len(raw)))
    for name, value in headers.items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(raw)


def _now() -> str:
    return datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
