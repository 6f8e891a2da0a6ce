"""The request log written beside the response path instead of on it.

Every answered mention is stored (SuggestionRequest and its SuggestedResponse rows) for feedback
and analytics. Stored in the request, that write is a transaction of its own whose commit waits
for the disk: on PostgreSQL 1-4 ms idle and far more on a busy machine, for every answer. Here
an answer takes its id from a block drawn from the table's own sequence (one ``nextval`` per
ID_BLOCK answers), so the client can give feedback on it, and is handed to a writer thread that
inserts whatever has queued since its last write in one transaction: while one commit waits, the
next batch gathers by itself.

Nothing is lost on a clean stop: gunicorn's worker_exit (gunicorn.conf.py) and interpreter exit
both write what is queued before the process ends. What a process killed outright (SIGKILL, the
OOM killer, a crash of the interpreter) loses is what was queued and not yet committed: the
answers of the last write's duration, a few milliseconds. While the database refuses writes the
rows stay queued and are retried; past MAX_QUEUED queued rows an answer waits for room instead
of piling up more that a crash would lose.

A request looked up before its row is written (feedback sent within milliseconds of the answer)
waits for it: wait_written().

Runs only on PostgreSQL (a sequence to draw ids from) in a process that started it (the web
workers, from gunicorn.conf.py). Everywhere else (tests, commands, Celery, SQLite) the request is
stored in the caller's transaction as before.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction

from suggestions.models import SuggestedResponse, SuggestionRequest

logger = logging.getLogger(__name__)

ID_BLOCK = 50
MAX_QUEUED = 5000
# A lookup of an id drawn but not yet written waits at most this long for the writer.
WAIT_SECONDS = 2.0
RETRY_SECONDS = (0.1, 0.5, 2.0, 5.0)


@dataclass(frozen=True)
class _Entry:
    request: SuggestionRequest
    suggested: list[SuggestedResponse]


class RequestLog:
    """A process's writer of answered requests (see the module docstring)."""

    def __init__(self, *, id_block: int = ID_BLOCK, max_queued: int = MAX_QUEUED) -> None:
        self._id_block = id_block
        self._max_queued = max_queued
        self._ids: deque[int] = deque()
        self._ids_lock = threading.Lock()
        self._queued: deque[_Entry] = deque()
        self._held: set[int] = set()  # ids queued or being written
        self._changed = threading.Condition()
        self._write_lock = threading.Lock()  # one write at a time: the thread's or a flush()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._exit_registered = False
        self.writes = 0  # transactions committed, and the requests they carried: for measuring
        self.written = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the writer thread (once per process, after any fork)."""
        if self.running:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="request-log", daemon=True)
        self._thread.start()
        if not self._exit_registered:
            atexit.register(self.stop)
            self._exit_registered = True

    def stop(self, timeout: float = 30.0) -> None:
        """Write everything queued, then end the writer thread."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.flush()

    def next_id(self) -> int:
        """An id for a request to be recorded: unique across processes (the table's sequence)."""
        with self._ids_lock:
            if not self._ids:
                self._ids.extend(_ids_drawn(self._id_block))
            return self._ids.popleft()

    def record(self, request: SuggestionRequest, suggested: list[SuggestedResponse]) -> None:
        """Queue a complete request (its id from next_id) and its suggested rows for writing."""
        with self._changed:
            while len(self._queued) >= self._max_queued and self.running:
                self._changed.wait(1.0)
            self._queued.append(_Entry(request, suggested))
            self._held.add(request.pk)
            self._changed.notify_all()

    def holds(self, pk: int) -> bool:
        """Whether this process has the request queued and not yet committed."""
        with self._changed:
            return pk in self._held

    def flush(self) -> None:
        """Write what is queued now, in the calling thread (raises if the database refuses)."""
        with self._write_lock:
            with self._changed:
                batch = list(self._queued)
                self._queued.clear()
            if batch:
                try:
                    _write(batch)
                except BaseException:
                    self._requeue(batch)
                    raise
                self._done(batch)

    def _run(self) -> None:
        failures = 0
        while True:
            with self._changed:
                while not self._queued and not self._stopping:
                    self._changed.wait()
                if self._stopping:
                    break
            try:
                close_old_connections()
                self.flush()
                failures = 0
            except Exception:
                logger.exception("Writing the request log failed; kept queued and tried again")
                time.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
                failures += 1
        connection.close()

    def _requeue(self, batch: list[_Entry]) -> None:
        with self._changed:
            self._queued.extendleft(reversed(batch))

    def _done(self, batch: list[_Entry]) -> None:
        with self._changed:
            for entry in batch:
                self._held.discard(entry.request.pk)
            self.writes += 1
            self.written += len(batch)
            self._changed.notify_all()


def _write(batch: list[_Entry]) -> None:
    """The batch in one transaction; when that is refused for one row's sake (a response deleted
    before its suggestion was written), each request on its own, and a request whose suggested
    rows still cannot be written is stored without them (its results keep what was answered)."""
    try:
        _insert(batch)
    except IntegrityError:
        for entry in batch:
            try:
                _insert([entry])
            except IntegrityError:
                logger.exception("Request %s stored without its suggested rows", entry.request.pk)
                _insert([_Entry(entry.request, [])])


def _insert(batch: list[_Entry]) -> None:
    fields = SuggestionRequest._meta.concrete_fields
    with transaction.atomic():
        # raw: each row as it was answered, created_at included, not stamped again at the write.
        SuggestionRequest.objects._insert(  # type: ignore[attr-defined]
            [entry.request for entry in batch], fields=fields, raw=True
        )
        SuggestedResponse.objects.bulk_create([row for entry in batch for row in entry.suggested])


def _ids_drawn(count: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [SuggestionRequest._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _drawn(pk: int) -> bool:
    """Whether some process has drawn this id from the sequence (it may be written soon)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_sequence_last_value(pg_get_serial_sequence(%s, 'id'))",
            [SuggestionRequest._meta.db_table],
        )
        row = cursor.fetchone()
    return row is not None and row[0] is not None and pk <= row[0]


request_log = RequestLog()


def request_log_start() -> bool:
    """Store this process's answers through the request log from now on, when
    CARELINE_REQUEST_LOG_DEFERRED asks for it, and only on PostgreSQL (returns whether it runs).
    Off by default: a worker killed outright would lose the answers queued in the write under way."""
    if not settings.CARELINE_REQUEST_LOG_DEFERRED or connection.vendor != "postgresql":
        return False
    request_log.start()
    return True


def wait_written(pk: int) -> bool:
    """For a request not found: wait until it is written when it is still queued, here or in
    another process (at most WAIT_SECONDS); whether it may exist now."""
    if request_log.holds(pk):
        request_log.flush()
        return True
    if connection.vendor != "postgresql" or connection.in_atomic_block or not _drawn(pk):
        return False
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if SuggestionRequest.objects.filter(pk=pk).exists():
            return True
        time.sleep(0.01)
    return False
