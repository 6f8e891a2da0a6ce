"""Confidence recalibrated on agents' verdicts: which verdicts count, the minimum, the time order
of fit and measurement, and that the engine serves the corrected confidence once fitted."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from suggestions import recalibration
from suggestions.models import Feedback, Recalibration
from suggestions.ranking import Calibration, Recalibrated
from suggestions.recalibration import (
    RecalibrationRefused,
    calibration_recalibrated,
    expected_calibration_error,
    monotone_apply,
    recalibration_fit,
    verdicts_given,
)
from suggestions.services import Mention, suggestions_for
from suggestions.tasks import recalibration_fit_task
from tests.factories import FeedbackFactory, IssueFactory, ResponseFactory, request_with_suggestions

START = timezone.now() - timedelta(days=30)


@pytest.fixture
def pair(db):
    """Two responses of two issues: the first one ranked first in every request here."""
    return ResponseFactory(issue=IssueFactory()), ResponseFactory(issue=IssueFactory())


def verdict(pair, confidence: float, right: bool, *, minutes: int, sent_other: bool = False):
    request = request_with_suggestions(
        list(pair), confidence=confidence, brand=None, created_at=START + timedelta(minutes=minutes)
    )
    if sent_other:
        FeedbackFactory(request=request, response=pair[1], action=Feedback.Action.EDITED)
    else:
        action = Feedback.Action.ACCEPTED if right else Feedback.Action.REJECTED
        FeedbackFactory(request=request, response=pair[0], action=action)
    return request


def many(pair, rows: list[tuple[float, float, int]], *, first_minute: int = 0) -> int:
    """For each (confidence, share right, count): that many verdicts, the right ones spread evenly."""
    minute = first_minute
    for confidence, right_share, count in rows:
        right = round(right_share * count)
        for index in range(count):
            verdict(pair, confidence, index < right, minutes=minute)
            minute += 1
    return minute


def test_a_sent_top_suggestion_is_right_and_a_rejected_or_passed_over_one_is_wrong(pair):
    verdict(pair, 0.8, True, minutes=1)
    verdict(pair, 0.7, False, minutes=2)
    verdict(pair, 0.6, True, minutes=3, sent_other=True)  # the agent sent the second one
    request_with_suggestions(list(pair), confidence=0.9, brand=None)  # nobody said anything
    # Only the second draft rejected: nothing is known of the first.
    passed = request_with_suggestions(list(pair), confidence=0.5, brand=None)
    FeedbackFactory(request=passed, response=pair[1], action=Feedback.Action.REJECTED)

    found = verdicts_given()

    assert [(v.confidence, v.right) for v in found] == [(0.8, True), (0.7, False), (0.6, False)]


def test_fewer_verdicts_than_the_minimum_refuse_to_recalibrate(pair, settings):
    settings.CARELINE_RECALIBRATION_MIN_FEEDBACK = 20
    many(pair, [(0.3, 0.5, 10), (0.8, 0.5, 9)])

    with pytest.raises(RecalibrationRefused, match="19 verdicts"):
        recalibration_fit()
    assert recalibration_fit_task.delay().get() is None
    assert not Recalibration.objects.exists()


def test_the_fit_is_measured_on_the_newest_fifth_it_was_not_fitted_on(pair, settings):
    settings.CARELINE_RECALIBRATION_MIN_FEEDBACK = 50
    # The older 80: right far more often than the confidence says; the newest 20: far less.
    later = many(pair, [(0.3, 0.7, 40), (0.6, 0.95, 40)], first_minute=0)
    many(pair, [(0.3, 0.0, 10), (0.6, 0.1, 10)], first_minute=later)

    fitted = recalibration_fit()

    assert (fitted.verdicts, fitted.holdout) == (100, 20)
    # Before: |0.3 - 0| and |0.6 - 0.1| over the newest 20.
    assert fitted.ece_before == pytest.approx(0.4, abs=1e-6)
    # Fitted on the older 80 alone, it promises ~0.7 and ~0.95 to the newest 20.
    assert fitted.ece > 0.7
    # Served: fitted on all 100, so the low-confidence bin lands on its overall 28 right in 50.
    served = monotone_apply(np.array([0.3]), (fitted.knots["raw"], fitted.knots["served"]))[0]
    assert served == pytest.approx(0.56)


def test_a_fit_corrects_a_confidence_that_is_too_modest(pair, settings):
    settings.CARELINE_RECALIBRATION_MIN_FEEDBACK = 50
    many(pair, [(0.2, 0.6, 40), (0.4, 0.9, 40), (0.1, 0.2, 20)])

    fitted = recalibration_fit()

    assert fitted.ece < fitted.ece_before
    knots = (fitted.knots["raw"], fitted.knots["served"])
    assert list(monotone_apply(np.array([0.1, 0.2, 0.4]), knots)) == pytest.approx([0.2, 0.6, 0.9])
    assert np.all(np.diff(knots[0]) > 0) and np.all(np.diff(knots[1]) > 0)


def test_no_new_verdict_means_no_new_fit_and_a_new_one_refits(pair, settings):
    settings.CARELINE_RECALIBRATION_MIN_FEEDBACK = 20
    later = many(pair, [(0.2, 0.5, 10), (0.7, 0.9, 10)])
    first = recalibration_fit()
    assert recalibration_fit().pk == first.pk
    many(pair, [(0.7, 0.9, 10)], first_minute=later)
    assert recalibration_fit().pk != first.pk
    assert Recalibration.objects.count() == 2


def test_a_refit_reads_confidences_served_under_a_fit_back_to_the_engines_own(pair):
    verdict(pair, 0.4, True, minutes=1)
    knots = ([0.0, 0.4, 1.0], [0.0, 0.7, 1.0])
    fit = Recalibration.objects.create(
        knots={"raw": knots[0], "served": knots[1]},
        verdicts=200,
        holdout=40,
        ece=0.1,
        ece_before=0.2,
        newest_verdict_at=START,
    )
    Recalibration.objects.filter(pk=fit.pk).update(fitted_at=START + timedelta(minutes=2))
    served = round(float(monotone_apply(np.array([0.3]), knots)[0]), 4)
    verdict(pair, served, True, minutes=3)

    before, after = verdicts_given()

    assert (before.confidence, before.raw) == (0.4, 0.4)
    assert after.confidence == served == 0.525
    assert after.raw == pytest.approx(0.3, abs=1e-4)


def test_expected_calibration_error_weighs_each_bins_gap_by_its_count():
    confidence = np.array([0.05, 0.05, 0.95, 0.95, 0.95, 0.95])
    right = np.array([False, True, True, True, True, False])
    # (2 * |0.05 - 0.5| + 4 * |0.95 - 0.75|) / 6
    assert expected_calibration_error(confidence, right) == pytest.approx((0.9 + 0.8) / 6)


def test_the_engine_serves_the_recalibrated_confidence_once_fitted(library, settings):
    mention = Mention(text="my suitcase is lost, it never showed up at baggage claim")
    before = suggestions_for(mention=mention).suggestions[0].confidence
    settings.CARELINE_RECALIBRATION_MIN_FEEDBACK = 20
    response = library.responses[suggestions_for(mention=mention).suggestions[0].response]
    other = next(r for r in library.responses.values() if r.issue_id != response.issue_id)
    # Agents send the top suggestion at 0.3 half the time, at 0.5 nearly always.
    many((response, other), [(0.3, 0.5, 10), (0.5, 0.9, 10)])

    fitted = recalibration_fit()
    after = suggestions_for(mention=mention).suggestions[0].confidence

    assert after != before
    expected = monotone_apply(np.array([before]), (fitted.knots["raw"], fitted.knots["served"]))[0]
    assert after == pytest.approx(expected, abs=1e-3)


def test_the_command_says_why_it_did_not_recalibrate_and_what_it_fitted(pair, settings, capsys):
    settings.CARELINE_RECALIBRATION_MIN_FEEDBACK = 20
    many(pair, [(0.2, 0.5, 10)])
    call_command("recalibrate")
    assert "10 verdicts so far" in capsys.readouterr().out
    many(pair, [(0.7, 0.9, 10)], first_minute=10)
    call_command("recalibrate")
    assert "recalibrated on 20 verdicts" in capsys.readouterr().out


def test_the_refit_runs_on_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["confidence-recalibration"]
    assert entry["task"] == recalibration_fit_task.name
    assert entry["schedule"] == 3600


@pytest.mark.django_db(transaction=True)
def test_a_committed_fit_is_served_within_a_second_without_a_read_per_mention(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(recalibration, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    monkeypatch.setattr(recalibration, "_served", None)
    base = Calibration((1.0, 0.0, 0.0), 0.0)
    assert calibration_recalibrated(base) == base  # no fit yet: read, and kept

    Recalibration.objects.create(
        knots={"raw": [0.0, 1.0], "served": [0.0, 0.5]},
        verdicts=100,
        holdout=20,
        ece=0.1,
        ece_before=0.2,
        newest_verdict_at=START,
    )
    with CaptureQueriesContext(connection) as reads:
        kept = calibration_recalibrated(base)
    clock[0] += recalibration.FRESH_SECONDS
    served = calibration_recalibrated(base)

    assert kept == base and not reads.captured_queries
    assert isinstance(served, Recalibrated) and served.served == (0.0, 0.5)


def test_inside_a_transaction_the_fit_is_read_afresh_and_not_kept(pair, monkeypatch):
    monkeypatch.setattr(recalibration, "_served", None)
    base = Calibration((1.0, 0.0, 0.0), 0.0)
    Recalibration.objects.create(
        knots={"raw": [0.0, 1.0], "served": [0.0, 0.5]},
        verdicts=100,
        holdout=20,
        ece=0.1,
        ece_before=0.2,
        newest_verdict_at=START,
    )

    assert isinstance(calibration_recalibrated(base), Recalibrated)
    assert recalibration._served is None  # rolled back with this test, never served to another
