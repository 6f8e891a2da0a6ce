"""The request log on PostgreSQL (suggestions.request_log): an answer carries its id at once, its
rows are written after it was sent, exactly as answered, and none is lost or looked for in vain."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from suggestions.models import SuggestedResponse, SuggestionRequest
from suggestions.request_log import RequestLog, request_log, request_log_start

URL = "/api/v1/suggestions/"
LOST_BAG = {"text": "the airline lost my luggage", "channel": "twitter", "author": {"name": "Jane"}}


@pytest.fixture
def deferred(transactional_db, library, settings):
    """This process writes its answers through the request log, as a web worker asked to does."""
    assert connection.vendor == "postgresql", "the request log needs PostgreSQL (DATABASE_URL=postgres://...)"
    settings.CARELINE_REQUEST_LOG_DEFERRED = True
    assert request_log_start()
    yield request_log
    request_log.stop()


def test_answers_are_stored_inside_the_request_unless_deferral_is_asked_for(transactional_db, settings):
    settings.CARELINE_REQUEST_LOG_DEFERRED = False

    assert not request_log_start() and not request_log.running


def ask(client, body=LOST_BAG):
    answer = client.post(URL, body, format="json")
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_an_answer_is_written_off_the_response_path_exactly_as_answered(deferred, agent_client, agent):
    ask(agent_client)  # draws this process's first block of ids
    with CaptureQueriesContext(connection) as queries:
        body = ask(agent_client)
    deferred.stop()  # writes what is queued

    assert not [query for query in queries.captured_queries if "INSERT" in query["sql"]]
    stored = SuggestionRequest.objects.get(pk=body["id"])
    assert stored.created_at.isoformat().replace("+00:00", "Z") == body["created_at"]
    assert stored.requested_by == agent
    assert [item["response"] for item in stored.results] == [item["response"] for item in body["suggestions"]]
    assert list(SuggestedResponse.objects.filter(request=stored).values_list("position", flat=True)) == list(
        range(1, len(body["suggestions"]) + 1)
    )


def test_feedback_sent_before_its_request_is_written_waits_for_it(deferred, agent_client):
    with deferred._write_lock:  # the writer is busy with an earlier batch
        body = ask(agent_client)
        assert not SuggestionRequest.objects.filter(pk=body["id"]).exists()
        release = threading.Timer(0.3, deferred._write_lock.release)
        release.start()
        answer = agent_client.post(
            f"{URL}{body['id']}/feedback/",
            {"response": "lost-baggage-dm", "action": "accepted"},
            format="json",
        )
        deferred._write_lock.acquire()  # back to held, for the with block to release

    assert answer.status_code == 200, answer.content
    assert answer.json()["request"] == body["id"]


def test_a_request_queued_in_another_process_is_waited_for(deferred, agent_client, agent):
    elsewhere = RequestLog()  # another web worker's log: its ids are drawn, its rows not yet written
    pk = elsewhere.next_id()
    row = SuggestionRequest(pk=pk, text="my bag is lost", channel="twitter", requested_by=agent, results=[])
    row.created_at = timezone.now()
    elsewhere.record(row, [])

    def write_later() -> None:
        elsewhere.flush()
        connection.close()  # this thread's own connection

    threading.Timer(0.3, write_later).start()

    started = time.monotonic()
    answer = agent_client.get(f"{URL}{pk}/")

    assert answer.status_code == 200, answer.content
    assert 0.25 < time.monotonic() - started < 2


def test_an_id_nobody_drew_is_not_found_at_once(deferred, agent_client):
    body = ask(agent_client)
    started = time.monotonic()
    answer = agent_client.post(
        f"{URL}{body['id'] + 10_000}/feedback/",
        {"response": "lost-baggage-dm", "action": "accepted"},
        format="json",
    )

    assert answer.status_code == 404
    assert time.monotonic() - started < 0.5


def test_stopping_writes_every_answer_still_queued(deferred, agent_client):
    with deferred._write_lock:
        ids = [ask(agent_client)["id"] for _ in range(5)]
        assert not SuggestionRequest.objects.filter(pk__in=ids).exists()
    deferred.stop()

    assert SuggestionRequest.objects.filter(pk__in=ids).count() == 5
    assert not deferred.running


def test_a_suggested_row_that_cannot_be_written_leaves_its_request_stored_and_the_others_whole(
    deferred, agent_client, agent
):
    with deferred._write_lock:
        kept = ask(agent_client)["id"]
        broken = deferred.next_id()
        row = SuggestionRequest(pk=broken, text="my bag", channel="twitter", requested_by=agent, results=[])
        row.created_at = timezone.now()
        gone = SuggestedResponse(
            request=row, response_id=987654, issue_id=987654, position=1, confidence=0.9, shown=True
        )
        deferred.record(row, [gone])
    deferred.stop()

    assert SuggestionRequest.objects.filter(pk=broken).exists()
    assert not SuggestedResponse.objects.filter(request_id=broken).exists()
    assert SuggestedResponse.objects.filter(request_id=kept).exists()
