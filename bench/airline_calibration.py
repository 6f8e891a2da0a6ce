"""Recalibrating the confidence from agents' verdicts, on real airline mentions (protocol 1's rows).

    .venv/bin/python -m bench.airline_calibration

Protocol 1's tweets (every confidently labelled tweet whose label maps onto sample issues, asked
of the shipped sample library as brand ``acme-air`` on ``twitter``), in file order, in a
throwaway Careline (bench.run.Sandbox):

1. The first half are asked for real (``suggestion_create``), and each gets a verdict on its
   first ranked draft (``feedback_give``): accepted when that draft's issue is one the tweet's
   crowd label maps to (``sample_keys.json``), rejected otherwise. The crowd stands in for the
   agent, who judges the top draft of every mention: the first suggestion, or the closest
   candidate when the engine abstained.
2. ``recalibration_fit`` (what ``manage.py recalibrate`` and the hourly task run) fits on them.
3. The second half, never seen by the fit, is asked before and after: expected calibration error
   (10 bins) of the first draft's confidence against the crowd label, and at the default threshold
   (and over thresholds) the share answered correctly and the share of answered ones whose first
   suggestion is wrong.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.airline import DEFAULT_SOURCE, confident_tweets
from bench.run import Sandbox

PROBE = r"""
import json, sys
import django
django.setup()
import numpy as np
from django.conf import settings
from kb.models import Brand, Response
from suggestions.recalibration import expected_calibration_error, recalibration_fit
from suggestions.services import Mention, feedback_give, suggestion_create, suggestions_for

brand = Brand.objects.get(key="acme-air")
data = json.load(open(sys.argv[1]))
keys = {label: set(issues) for label, issues in data["keys"].items()}


def mention(text):
    return Mention(text=text, brand=brand, channel="twitter")


def scores(rows):
    confidence, right, answered = [], [], []
    for text, label in rows:
        answer = suggestions_for(mention=mention(text), limit=3)
        ranked = list(answer.suggestions) or list(getattr(answer, "candidates", []))
        confidence.append(ranked[0].confidence if ranked else 0.0)
        right.append(bool(ranked) and ranked[0].issue["key"] in keys[label])
        answered.append(not answer.abstained)
    confidence, right, answered = np.array(confidence), np.array(right), np.array(answered)
    curve = []
    for threshold in [step / 20 for step in range(4, 20)]:
        shown = confidence >= threshold
        curve.append({
            "threshold": threshold,
            "answered_correct": round(float((right & shown).mean()), 4),
            "wrong_of_answered": round(float((~right & shown).sum() / max(1, shown.sum())), 4),
        })
    return {
        "ece": round(expected_calibration_error(confidence, right), 4),
        "answered_correct": round(float((right & answered).mean()), 4),
        "wrong_of_answered": round(float((~right & answered).sum() / max(1, answered.sum())), 4),
        "abstained": round(float((~answered).mean()), 4),
        "mean_confidence": round(float(confidence.mean()), 4),
        "share_right": round(float(right.mean()), 4),
        "curve": curve,
    }


before = scores(data["second"])
verdicts = {"accepted": 0, "rejected": 0}
for text, label in data["first"]:
    request = suggestion_create(mention=mention(text), limit=3)
    if not request.results:
        continue
    top = request.results[0]
    action = "accepted" if top["issue"]["key"] in keys[label] else "rejected"
    feedback_give(request=request, response=Response.objects.get(key=top["response"]), action=action)
    verdicts[action] += 1
fitted = recalibration_fit()
after = scores(data["second"])
print(json.dumps({
    "verdicts": verdicts,
    "fit": {"knots": len(fitted.knots["raw"]), "holdout": fitted.holdout,
            "holdout_ece_before": round(fitted.ece_before, 4), "holdout_ece_after": round(fitted.ece, 4)},
    "threshold": settings.CARELINE_ABSTAIN_THRESHOLD,
    "before": before,
    "after": after,
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args()
    keys = json.loads((args.source / "sample_keys.json").read_text())
    rows = [(tweet.text, tweet.label) for tweet in confident_tweets(args.source) if tweet.label in keys]
    half = len(rows) // 2
    box = Sandbox()
    try:
        box.manage("migrate", "--noinput")
        box.manage("import_library", "kb/fixtures/sample_library.json")
        box.manage("rebuild_index", "--quiet")
        data = {"keys": keys, "first": rows[:half], "second": rows[half:]}
        (box.tmp / "rows.json").write_text(json.dumps(data))
        lines = box.python(PROBE, str(box.tmp / "rows.json")).splitlines()
    finally:
        box.close()
    result = json.loads(next(line for line in reversed(lines) if line.startswith("{")))
    result.update(first_half=half, second_half=len(rows) - half)
    print(json.dumps(result, indent=2))
    before, after = result["before"], result["after"]
    print(
        f"\n| protocol 1, second half ({result['second_half']} tweets) | ECE | answered correctly "
        "| wrong of answered | abstained |"
    )
    print("|---|---|---|---|---|")
    for name, row in (("before recalibration", before), ("after (fitted on the first half)", after)):
        print(
            f"| {name} | {row['ece']:.3f} | {row['answered_correct']:.3f} | {row['wrong_of_answered']:.3f} "
            f"| {row['abstained']:.3f} |"
        )
    print("\n| threshold | before: answered correctly / wrong of answered | after |")
    print("|---|---|---|")
    for old, new in zip(before["curve"], after["curve"], strict=True):
        print(
            f"| {old['threshold']:.2f} | {old['answered_correct']:.3f} / {old['wrong_of_answered']:.3f} "
            f"| {new['answered_correct']:.3f} / {new['wrong_of_answered']:.3f} |"
        )


if __name__ == "__main__":
    main()
