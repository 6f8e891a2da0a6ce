"""Confidence recalibrated from agents' own verdicts on real mentions.

The calibration each index version carries (suggestions.ranking) is learned from the library's
short clean phrasings; real traffic is longer, noisier and covered more or less often than that
replay assumes, so its confidence drifts from how often the top suggestion is actually right.
Agents tell us: every verdict on a request's top suggestion (position 1: what was shown first,
or the closest draft of an abstained answer) is a labelled point (its confidence, was it right):

- right: an agent sent it (accepted or edited);
- wrong: an agent rejected it ("nothing fits" rejects every draft), or sent another one instead.

A request nobody gave a verdict on says nothing and is left out.

Once there are CARELINE_RECALIBRATION_MIN_FEEDBACK points, ``recalibration_fit`` fits Platt
scaling on the logit of the uncorrected confidence, time-ordered: fitted on the older 80%, its
expected calibration error (ECE, 10 equal bins) measured on the newest 20%, then fitted again on
all of them and stored (``Recalibration``). The newest fit is applied to every confidence the
engine computes afterwards (``calibration_recalibrated``, called by retrieval), abstention
included. Confidences stored on requests are the corrected ones; the fit reads them back through
the recalibration that was in force when each was served (the map is monotone and invertible),
so a refit learns from the engine's own confidence, not from its previous correction.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db.models import QuerySet
from sklearn.linear_model import LogisticRegression

from suggestions.models import Feedback, Recalibration, SuggestedResponse, SuggestionRequest
from suggestions.ranking import Calibration

logger = logging.getLogger(__name__)

BINS = 10
HOLDOUT_SHARE = 0.2
# The newest verdicts only: older ones were given on a library and traffic that may have moved on.
MAX_VERDICTS = 20_000
# Confidences are stored to 4 decimals; 0 and 1 have no logit.
_EDGE = 5e-5
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
    when they cannot be fitted (all one way, or confidence that does not rise with rightness).
    Returns the newest fit unchanged when no verdict came in since it."""
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
    older_slope, older_intercept = platt_fit(raw[:split], right[:split])
    held_raw, held_right = raw[split:], right[split:]
    slope, intercept = platt_fit(raw, right)
    fitted = Recalibration(
        slope=slope,
        intercept=intercept,
        verdicts=len(verdicts),
        holdout=len(held_raw),
        ece=expected_calibration_error(platt_apply(held_raw, older_slope, older_intercept), held_right),
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


def platt_fit(raw: np.ndarray, right: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of sigmoid(slope * logit(raw) + intercept) fitted to ``right``."""
    if right.all() or not right.any():
        raise RecalibrationRefused("Every verdict went the same way: nothing to tell apart.")
    model = LogisticRegression(C=100.0).fit(_logit(raw)[:, None], right)
    slope, intercept = float(model.coef_[0][0]), float(model.intercept_[0])
    if slope <= 0:
        raise RecalibrationRefused("Confidence does not rise with how often agents send the suggestion.")
    return slope, intercept


def platt_apply(raw: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(slope * _logit(raw) + intercept)))


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
    """``calibration`` followed by the newest recalibration, if any."""
    current = recalibration_current()
    if current is None:
        return calibration
    return calibration.recalibrated(slope=current.slope, intercept=current.intercept)


def _history() -> tuple[list[datetime], list[tuple[float, float]]]:
    rows = list(
        Recalibration.objects.order_by("fitted_at", "id").values_list("fitted_at", "slope", "intercept")
    )
    return [row[0] for row in rows], [(row[1], row[2]) for row in rows]


def _uncorrected(
    confidence: float, at: datetime, history: tuple[list[datetime], list[tuple[float, float]]]
) -> float:
    """The engine's own confidence behind one served at ``at``: undo the recalibration in force."""
    times, fits = history
    position = bisect.bisect_right(times, at) - 1
    if position < 0:
        return confidence
    slope, intercept = fits[position]
    value = float(_logit(np.array([confidence]))[0])
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, (value - intercept) / slope))))


def _logit(values: np.ndarray | Iterable[float]) -> np.ndarray:
    clipped = np.clip(np.asarray(values, dtype=float), _EDGE, 1 - _EDGE)
    return np.log(clipped / (1 - clipped))
