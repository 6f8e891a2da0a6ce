"""Confidence recalibrated from agents' own verdicts on real mentions.

The calibration each index version carries (suggestions.ranking) is learned from the library's
short clean phrasings; real traffic is longer, noisier and covered more or less often than that
replay assumes, so its confidence drifts from how often the top suggestion is actually right.
Agents tell us: every verdict on a request's top suggestion (position 1: what was shown first,
or the closest draft of an abstained answer) is a labelled point (its confidence, was it right):

- right: an agent sent it (accepted or edited);
- wrong: an agent rejected it ("nothing fits" rejects every draft), or sent another one instead.

A request nobody gave a verdict on says nothing and is left out.

Once there are CARELINE_RECALIBRATION_MIN_FEEDBACK points, ``recalibration_fit`` fits a
monotone map of the uncorrected confidence, time-ordered: fitted on the older 80%, its expected
calibration error (ECE, 10 equal bins) measured on the newest 20%, then fitted again on all of
them and stored (``Recalibration``). The map is isotonic regression made strictly increasing:
piecewise linear through the centre of each of its steps (mean confidence, share right), from
(0, 0) to (1, 1). On real airline mentions (bench.airline_calibration) it left an ECE of 0.038 on
the second half where Platt scaling on the logit left 0.063: the engine's confidence on real
traffic is off by more than a shift and a scale. The newest fit is applied to every confidence the
engine computes afterwards (``calibration_recalibrated``, called by retrieval; a process looks
for a newer fit at most once a second), abstention included. Confidences stored on requests are
the corrected ones; the fit reads them back through the recalibration that was in force when
each was served (the map is monotone and invertible), so a refit learns from the engine's own
confidence, not from its previous correction.
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from sklearn.isotonic import IsotonicRegression

from suggestions.models import Feedback, Recalibration, SuggestedResponse, SuggestionRequest
from suggestions.ranking import Calibration

logger = logging.getLogger(__name__)

BINS = 10
HOLDOUT_SHARE = 0.2
# The newest verdicts only: older ones were given on a library and traffic that may have moved on.
MAX_VERDICTS = 20_000
_FLOOR = 0.001
SENT = (Feedback.Action.ACCEPTED, Feedback.Action.EDITED)


class RecalibrationRefused(ValueError):
    """Too few verdicts, or verdicts that carry no usable signal, to recalibrate on."""


@dataclass(frozen=True)
class Verdict:
    """An agent's verdict on a request's top suggestion."""

    at: datetime  # when the request was answered
    confidence: float  # as served
    raw: float  # before any recalibration
    right: bool


@dataclass(frozen=True)
class ReliabilityBin:
    lower: float
    upper: float
    count: int
    mean_confidence: float | None
    observed: float | None  # share of these top suggestions the agents sent


@dataclass(frozen=True)
class Reliability:
    bins: tuple[ReliabilityBin, ...]
    ece: float | None
    verdicts: int


def verdicts_given(*, requests: QuerySet[SuggestionRequest] | None = None) -> list[Verdict]:
    """The verdicts on top suggestions of ``requests`` (default all), oldest request first."""
    judged = (requests if requests is not None else SuggestionRequest.objects.all()).filter(
        feedback__isnull=False
    )
    tops = list(
        SuggestedResponse.objects.filter(position=1, request__in=judged.values("pk"))
        .order_by("-request__created_at", "-request_id")
        .values_list("request_id", "request__created_at", "response_id", "confidence")[:MAX_VERDICTS]
    )[::-1]
    given: dict[int, list[tuple[int, str]]] = {}
    for request_id, response_id, action in Feedback.objects.filter(
        request_id__in=[top[0] for top in tops]
    ).values_list("request_id", "response_id", "action"):
        given.setdefault(request_id, []).append((response_id, action))
    history = _history()
    verdicts = []
    for request_id, created_at, top, confidence in tops:
        actions = given.get(request_id, [])
        sent_top = any(response == top and action in SENT for response, action in actions)
        # A rejection of another draft says nothing about the top one.
        if sent_top or any(response == top or action in SENT for response, action in actions):
            verdicts.append(
                Verdict(created_at, confidence, _uncorrected(confidence, created_at, history), sent_top)
            )
    return verdicts


def recalibration_fit() -> Recalibration:
    """Fit, measure and store a recalibration on every verdict so far (see the module docstring).
    Raises RecalibrationRefused with fewer than CARELINE_RECALIBRATION_MIN_FEEDBACK verdicts, or
    when they are all one way. Returns the newest fit unchanged when no verdict came in since it."""
    minimum = settings.CARELINE_RECALIBRATION_MIN_FEEDBACK
    verdicts = verdicts_given()
    if minimum <= 0 or len(verdicts) < minimum:
        raise RecalibrationRefused(f"{len(verdicts)} verdicts so far; recalibrating needs {minimum}.")
    newest = max(verdict.at for verdict in verdicts)
    latest = Recalibration.objects.first()
    if latest is not None and latest.verdicts == len(verdicts) and latest.newest_verdict_at >= newest:
        return latest
    raw = np.array([verdict.raw for verdict in verdicts])
    right = np.array([verdict.right for verdict in verdicts])
    split = round(len(verdicts) * (1 - HOLDOUT_SHARE))
    older = monotone_fit(raw[:split], right[:split])
    held_raw, held_right = raw[split:], right[split:]
    knots = monotone_fit(raw, right)
    fitted = Recalibration(
        knots={"raw": knots[0], "served": knots[1]},
        verdicts=len(verdicts),
        holdout=len(held_raw),
        ece=expected_calibration_error(monotone_apply(held_raw, older), held_right),
        ece_before=expected_calibration_error(held_raw, held_right),
        newest_verdict_at=newest,
    )
    fitted.full_clean()
    fitted.save()
    logger.info(
        "Confidence recalibrated on %s verdicts: ECE on the newest %s %.3f -> %.3f",
        fitted.verdicts,
        fitted.holdout,
        fitted.ece_before,
        fitted.ece,
    )
    return fitted


Knots = tuple[list[float], list[float]]


def monotone_fit(raw: np.ndarray, right: np.ndarray) -> Knots:
    """The points (raw, served) of a strictly increasing map from confidence to the share right:
    isotonic regression, each step replaced by its centre, between (0, 0) and (1, 1)."""
    if right.all() or not right.any():
        raise RecalibrationRefused("Every verdict went the same way: nothing to tell apart.")
    order = np.argsort(raw, kind="stable")
    values, outcomes = raw[order], right[order].astype(float)
    steps = IsotonicRegression(out_of_bounds="clip").fit_transform(values, outcomes)
    xs, ys = [0.0], [0.0]
    for level in np.unique(steps):
        centre = float(values[steps == level].mean())
        # Never quite 0 or 1: a served confidence must read back to one raw confidence.
        share = float(np.clip(level, _FLOOR, 1 - _FLOOR))
        if centre > xs[-1] and share > ys[-1] and centre < 1.0:
            xs.append(centre)
            ys.append(share)
    return [*xs, 1.0], [*ys, 1.0]


def monotone_apply(raw: np.ndarray, knots: Knots) -> np.ndarray:
    return np.interp(raw, knots[0], knots[1])


def expected_calibration_error(confidence: np.ndarray, right: np.ndarray) -> float:
    """Mean |confidence - share right| over BINS equal-width bins, weighted by their counts."""
    return reliability_of(confidence.tolist(), right.tolist()).ece or 0.0


def reliability_of(confidence: Sequence[float], right: Sequence[bool]) -> Reliability:
    """Predicted against observed in BINS equal-width bins of confidence, and the ECE."""
    counts, sums, hits = [0] * BINS, [0.0] * BINS, [0] * BINS
    for value, is_right in zip(confidence, right, strict=True):
        slot = min(BINS - 1, max(0, int(value * BINS)))
        counts[slot] += 1
        sums[slot] += value
        hits[slot] += bool(is_right)
    total = sum(counts)
    bins = tuple(
        ReliabilityBin(
            slot / BINS,
            (slot + 1) / BINS,
            counts[slot],
            sums[slot] / counts[slot] if counts[slot] else None,
            hits[slot] / counts[slot] if counts[slot] else None,
        )
        for slot in range(BINS)
    )
    ece = (
        sum(abs(sums[slot] - hits[slot]) for slot in range(BINS)) / total if total else None
    )  # sum over bins of n_b/N * |mean_b - observed_b|
    return Reliability(bins, ece, total)


def reliability_curve(*, requests: QuerySet[SuggestionRequest]) -> Reliability:
    """How often agents sent the top suggestion, against the confidence it was served with."""
    verdicts = verdicts_given(requests=requests)
    return reliability_of([v.confidence for v in verdicts], [v.right for v in verdicts])


def recalibration_current() -> Recalibration | None:
    return Recalibration.objects.first()


def calibration_recalibrated(calibration: Calibration) -> Calibration:
    """``calibration`` followed by the newest recalibration, if any (read again at most every
    FRESH_SECONDS, see _served_knots)."""
    knots = _served_knots()
    if knots is None:
        return calibration
    return calibration.recalibrated(raw=knots[0], served=knots[1])


# A fit is made hourly at most; every mention reading it from the database cost a query on the
# hot path. Kept this long, as the served index version is (suggestions.serving.POLL_SECONDS).
FRESH_SECONDS = 1.0
_served: tuple[float, Knots | None] | None = None  # (read at, knots) as last committed


def _served_knots() -> Knots | None:
    """The newest fit's knots, read from the database at most every FRESH_SECONDS. Inside a
    transaction they are read afresh and not kept: that transaction may see a fit nobody else
    does (its own, not yet committed, perhaps rolled back)."""
    global _served
    if connection.in_atomic_block:
        return _knots(recalibration_current())
    kept = _served
    now = time.monotonic()
    if kept is not None and now - kept[0] < FRESH_SECONDS:
        return kept[1]
    knots = _knots(recalibration_current())
    _served = (now, knots)
    return knots


def _knots(fitted: Recalibration | None) -> Knots | None:
    """The fit's points, None when there is no usable fit."""
    if fitted is None:
        return None
    raw, served = (fitted.knots or {}).get("raw"), (fitted.knots or {}).get("served")
    if not raw or not served or len(raw) != len(served) or len(raw) < 2:
        return None
    return [float(x) for x in raw], [float(y) for y in served]


def _history() -> tuple[list[datetime], list[Knots | None]]:
    fits = list(Recalibration.objects.order_by("fitted_at", "id"))
    return [fit.fitted_at for fit in fits], [_knots(fit) for fit in fits]


def _uncorrected(
    confidence: float, at: datetime, history: tuple[list[datetime], list[Knots | None]]
) -> float:
    """The engine's own confidence behind one served at ``at``: undo the recalibration in force."""
    times, fits = history
    position = bisect.bisect_right(times, at) - 1
    knots = fits[position] if position >= 0 else None
    if knots is None:
        return confidence
    return float(np.interp(confidence, knots[1], knots[0]))
