"""manage.py rebuild_index, suggest and evaluate."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from kb import services
from suggestions.embedder import use_embedder
from suggestions.indexing import active_version
from suggestions.models import IndexVersion, SuggestionRequest
from tests.engine_fixtures import SEARCHABLE_VECTORS, api_client_for
from tests.factories import UserFactory
from tests.fakes import FakeEmbedder

pytestmark = pytest.mark.usefixtures("engine")

CONTRACT_ANSWER = {"id", "abstained", "index_version", "took_ms", "suggestions"}
CONTRACT_SUGGESTION = {
    "response",
    "issue",
    "text",
    "score",
    "confidence",
    "matched_example",
    "private_channel",
    "length",
    "fits_channel",
}


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


# ---- rebuild_index ----------------------------------------------------------------------------


def test_rebuild_index_builds_and_serves_a_new_version(unindexed_library):
    out = run("rebuild_index", "--quiet")

    version = active_version()
    assert version is not None and version.count == SEARCHABLE_VECTORS
    assert f"Index {version.version}: {SEARCHABLE_VECTORS} vectors" in out


def test_rebuild_index_always_builds_in_full(library):
    run("rebuild_index", "--quiet")

    assert active_version() != library.version
    assert active_version().kind == IndexVersion.Kind.FULL


def test_rebuild_index_if_stale_leaves_a_fresh_index_alone(library):
    out = run("rebuild_index", "--if-stale")

    assert active_version() == library.version
    assert f"Index {library.version.version} is up to date" in out


def test_rebuild_index_if_stale_applies_only_what_changed(library):
    services.example_create(issue=library.issues["password-reset"], text="two factor code never comes by sms")

    run("rebuild_index", "--if-stale")

    version = active_version()
    assert (version.kind, version.added, version.removed) == (IndexVersion.Kind.INCREMENTAL, 1, 0)


def test_rebuild_index_if_stale_builds_in_full_when_there_is_no_index(unindexed_library):
    run("rebuild_index", "--if-stale")

    assert active_version().kind == IndexVersion.Kind.FULL


def test_rebuild_index_if_stale_rebuilds_an_index_made_with_another_model(library):
    with use_embedder(FakeEmbedder(dimension=64)):
        run("rebuild_index", "--if-stale")

        assert active_version().model == "fake-hashing-64"
        assert json.loads(run("suggest", "the airline lost my luggage", "--json"))["suggestions"]


# ---- suggest ----------------------------------------------------------------------------------


def test_suggest_json_prints_what_the_api_answers(library):
    # An agent without a name, so the API has no name to sign with either.
    nameless = UserFactory(username="nameless")
    nameless.groups.add(Group.objects.get(name="Agents"))
    client = api_client_for(nameless)
    args = {"text": "@AcmeAir the airline lost my luggage!!", "brand": "acme-air", "channel": "twitter"}
    printed = json.loads(
        run("suggest", args["text"], "--brand", args["brand"], "--channel", args["channel"], "--json")
    )
    answered = client.post("/api/v1/suggestions/", args, format="json").json()

    assert set(printed) >= CONTRACT_ANSWER
    assert set(printed) == set(answered)
    assert printed["abstained"] is False
    assert printed["index_version"] == library.version.version
    assert [set(item) for item in printed["suggestions"]] == [set(item) for item in answered["suggestions"]]
    assert set(printed["suggestions"][0]) >= CONTRACT_SUGGESTION
    for cli, api in zip(printed["suggestions"], answered["suggestions"], strict=True):
        assert {k: cli[k] for k in CONTRACT_SUGGESTION} == {k: api[k] for k in CONTRACT_SUGGESTION}
    assert printed["suggestions"][0]["response"] == "lost-baggage-dm"
    assert SuggestionRequest.objects.filter(pk=printed["id"]).exists()


def test_suggest_prints_a_readable_ranking(library):
    out = run("suggest", "the airline lost my luggage", "--channel", "twitter")

    assert out.startswith("1. lost-baggage / lost-baggage-dm")
    assert "move to DM" in out
    assert "matched: the airline lost my luggage on the connecting flight" in out


def test_suggest_says_when_it_abstains(library):
    out = run("suggest", "what a lovely sunny day for gardening")

    assert "abstained" in out
    assert not re.search(r"^\d+\. ", out, re.MULTILINE)  # no ranked suggestion lines


def test_suggest_lists_the_closest_drafts_apart_when_it_abstains(library, settings):
    settings.CARELINE_ABSTAIN_THRESHOLD = 1.0

    out = run("suggest", "the airline lost my luggage", "--channel", "twitter")
    printed = json.loads(run("suggest", "the airline lost my luggage", "--channel", "twitter", "--json"))

    assert "abstained" in out and "closest drafts" in out
    assert re.search(r"^\(1\) lost-baggage / lost-baggage-dm", out, re.MULTILINE)
    assert not re.search(r"^\d+\. ", out, re.MULTILINE)  # nothing an integration would act on
    assert printed["suggestions"] == []
    assert printed["candidates"][0]["response"] == "lost-baggage-dm"


def test_suggest_for_an_unknown_brand_is_an_error(library):
    with pytest.raises(CommandError, match="brand: Unknown brand 'nope'"):
        run("suggest", "my luggage is lost", "--brand", "nope")


def test_suggest_for_an_unknown_channel_is_an_error(library):
    with pytest.raises(CommandError, match="channel"):
        run("suggest", "my luggage is lost", "--channel", "fax")


def test_suggest_without_an_index_is_an_error(unindexed_library):
    with pytest.raises(CommandError, match="rebuild_index"):
        run("suggest", "my luggage is lost")


# ---- evaluate ---------------------------------------------------------------------------------

LABELLED = [
    # Covered: two found first, one found second (password-reset ranks above it), one whose
    # issue has no approved reply so it can never be found.
    {"text": "my suitcase is lost, it never showed up at baggage claim", "issue": "lost-baggage"},
    {"text": "reset email for my password never arrives", "issue": "password-reset"},
    {
        "text": "the airline lost my luggage and the password reset email never arrives",
        "issue": "lost-baggage",
    },
    {"text": "the inflight wifi will not connect at all", "issue": "onboard-wifi"},
    # Uncovered: one the engine rightly abstains on, one it answers confidently anyway.
    {"text": "what a lovely sunny day for gardening", "issue": None},
    {"text": "they cancelled my flight and I need to rebook", "issue": None},
]


@pytest.fixture
def labelled_file(tmp_path):
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in LABELLED) + "\n\n", encoding="utf-8")
    return path


def test_evaluate_json_reports_top1_top3_and_abstention_recall(library, labelled_file):
    result = json.loads(run("evaluate", str(labelled_file), "--json"))

    assert (result["covered"], result["uncovered"]) == (4, 2)
    assert result["top1"] == 0.5
    assert result["top3"] == 0.75
    assert result["answered_correct"] == 0.5
    assert result["abstain_recall"] == 0.5
    assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"]


def test_evaluate_prints_the_figures(library, labelled_file):
    out = run("evaluate", str(labelled_file))

    assert "top-1 accuracy:    0.500" in out
    assert "top-3 accuracy:    0.750" in out
    assert "abstained:         0.500" in out
    assert "latency ms: p50" in out


def test_evaluate_json_reports_what_each_abstain_threshold_would_give(library, labelled_file, settings):
    result = json.loads(run("evaluate", str(labelled_file), "--json"))

    curve = result["curve"]
    thresholds = [point["threshold"] for point in curve]
    answered = [point["answered_correct"] for point in curve]
    abstained = [point["abstain_recall"] for point in curve]
    assert thresholds == [round(step * 0.05, 2) for step in range(20)]
    # A higher threshold answers fewer covered messages and abstains on more uncovered ones.
    assert answered == sorted(answered, reverse=True)
    assert abstained == sorted(abstained)
    assert answered[-1] < answered[0] and abstained[-1] > abstained[0]  # not flat: the test can tell
    # Threshold 0 abstains on nothing; the configured one gives the headline figures.
    assert (answered[0], abstained[0]) == (result["top1"], 0.0)
    at_setting = next(point for point in curve if point["threshold"] == settings.CARELINE_ABSTAIN_THRESHOLD)
    assert (at_setting["answered_correct"], at_setting["abstain_recall"]) == (
        result["answered_correct"],
        result["abstain_recall"],
    )


def test_evaluate_curve_prints_a_row_per_threshold(library, labelled_file):
    result = json.loads(run("evaluate", str(labelled_file), "--json"))

    out = run("evaluate", str(labelled_file), "--curve")

    assert "threshold  answered correctly  uncovered abstained" in out
    rows = re.findall(r"^\s+(\d\.\d\d)\s+(\d\.\d{3})\s+(\d\.\d{3})$", out, re.MULTILINE)
    assert [tuple(float(value) for value in row) for row in rows] == [
        (point["threshold"], point["answered_correct"], point["abstain_recall"]) for point in result["curve"]
    ]
    assert "threshold" not in run("evaluate", str(labelled_file))  # only when asked


def test_evaluate_curve_without_uncovered_messages_has_no_abstention_column(library, tmp_path):
    path = tmp_path / "covered.jsonl"
    path.write_text(json.dumps(LABELLED[0]) + "\n", encoding="utf-8")

    result = json.loads(run("evaluate", str(path), "--json"))
    out = run("evaluate", str(path), "--curve")

    assert {point["abstain_recall"] for point in result["curve"]} == {None}
    assert re.search(r"^\s+0\.50\s+1\.000\s+-$", out, re.MULTILINE)


def test_evaluate_stores_no_requests(library, labelled_file):
    run("evaluate", str(labelled_file), "--json")

    assert not SuggestionRequest.objects.exists()


def test_evaluate_without_uncovered_messages_has_no_abstention_recall(library, tmp_path):
    path = tmp_path / "covered.jsonl"
    path.write_text(json.dumps(LABELLED[0]) + "\n", encoding="utf-8")

    result = json.loads(run("evaluate", str(path), "--json"))

    assert result["abstain_recall"] is None
    assert result["top1"] == 1.0


@pytest.mark.parametrize(
    "bad_line",
    [
        "not json at all",
        '{"issue": "lost-baggage"}',
        '{"text": "", "issue": null}',
        '{"text": "my bag", "issue": 5}',
        '["my bag", "lost-baggage"]',
        '"just a string"',
    ],
)
def test_evaluate_rejects_a_bad_line_naming_it(library, tmp_path, bad_line):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(LABELLED[0]) + "\n" + bad_line + "\n", encoding="utf-8")

    with pytest.raises(CommandError, match="line 2"):
        run("evaluate", str(path))


def test_evaluate_rejects_an_empty_or_missing_file(library, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")

    with pytest.raises(CommandError, match="no messages"):
        run("evaluate", str(empty))
    with pytest.raises(CommandError, match="Cannot read"):
        run("evaluate", str(tmp_path / "missing.jsonl"))


def test_evaluate_for_an_unknown_brand_is_an_error(library, labelled_file):
    with pytest.raises(CommandError, match="Unknown brand"):
        run("evaluate", str(labelled_file), "--brand", "nope")
