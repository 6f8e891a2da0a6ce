"""Keeping the vector index in step with the library, and serving it."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import faiss
import numpy as np
import pytest
from django.core.files.base import ContentFile

from kb import services
from kb.models import Example, Issue, Response
from suggestions import indexing, serving
from suggestions.embedder import get_embedder, use_embedder
from suggestions.index_store import INDEX_FILE, META_FILE, IndexModelMismatch, IndexStore, IndexUnavailable
from suggestions.indexing import HEAD_FILE, TITLE_ID_BASE, active_version, index_rebuild, index_sync
from suggestions.models import ActiveIndex, IndexVersion
from suggestions.ranking import MIN_CALIBRATION_ISSUES, Calibration
from suggestions.selectors import index_status
from suggestions.services import Mention, suggestions_for
from suggestions.serving import holder
from suggestions.text import normalize_mention
from suggestions.vector_index import VectorIndex
from tests.engine_fixtures import SEARCHABLE, SEARCHABLE_VECTORS, library_build
from tests.fakes import FakeEmbedder

pytestmark = pytest.mark.usefixtures("engine")


def indexed_ids(version: IndexVersion) -> set[int]:
    index, _ = IndexStore().read(version.version, expected_model=version.model)
    return set(index.ids().tolist())


def title_id(issue) -> int:
    return TITLE_ID_BASE + issue.pk


def ids_of_issue(issue) -> set[int]:
    examples = issue.examples.filter(status=Example.Status.ACTIVE).values_list("id", flat=True)
    return {title_id(issue), *examples}


def top_issue(text: str, **mention) -> str | None:
    answer = suggestions_for(mention=Mention(text=text, **mention))
    return answer.suggestions[0].issue["key"] if answer.suggestions else None


# ---- full rebuild -----------------------------------------------------------------------------


def test_rebuild_indexes_active_examples_and_titles_of_issues_with_a_live_response(library):
    expected = set().union(*(ids_of_issue(library.issues[key]) for key in SEARCHABLE))

    assert len(expected) == SEARCHABLE_VECTORS
    assert indexed_ids(library.version) == expected
    assert library.version.count == SEARCHABLE_VECTORS
    assert library.version.kind == IndexVersion.Kind.FULL
    assert active_version() == library.version


def test_rebuild_leaves_out_retired_and_pending_examples_retired_issues_and_issues_without_a_live_reply(
    library,
):
    baggage = library.issues["lost-baggage"]
    retired = services.example_create(issue=baggage, text="my golf clubs vanished in transit")
    services.example_retire(example=retired)
    pending = services.example_create(
        issue=baggage, text="bag gone", source=Example.Source.LEARNED, status=Example.Status.PENDING
    )
    services.issue_retire(issue=library.issues["card-declined"])

    ids = indexed_ids(index_rebuild())

    assert retired.pk not in ids
    assert pending.pk not in ids
    assert not ids & ids_of_issue(library.issues["card-declined"])
    for key in ("onboard-wifi", "summer-sale"):  # a draft reply only; an expired one only
        issue = library.issues[key]
        assert title_id(issue) not in ids
        assert not ids & set(issue.examples.values_list("id", flat=True))
    assert ids_of_issue(baggage) <= ids


def _topics_create(first: int, count: int) -> None:
    """Issues of a title and one example each, with an approved reply."""
    with services.library_batch():
        for n in range(first, first + count):
            issue = services.issue_create(key=f"topic-{n}", title=f"Topic number {n} of forty")
            services.example_create(issue=issue, text=f"customers say topic {n} this way")
            services.response_create(
                issue=issue, key=f"reply-{n}", channel="any", status=Response.Status.APPROVED, text="On it."
            )


def _lists_trained_on_issues(version: IndexVersion) -> None:
    served, _ = IndexStore().read(version.version, expected_model=version.model)
    vectors, ids = served.vectors()
    issue_of = {title_id(issue): issue.pk for issue in Issue.objects.all()}
    issue_of |= dict(Example.objects.values_list("id", "issue_id"))
    assert served.kind == "ivf" and served.probes[1] == 36
    by_issue, by_sample = VectorIndex(vectors.shape[1]), VectorIndex(vectors.shape[1])
    by_issue.index(vectors, ids, groups=[issue_of[i] for i in ids.tolist()])
    by_sample.index(vectors, ids)
    assert _list_of_each(served) == _list_of_each(by_issue) != _list_of_each(by_sample)


@pytest.mark.filterwarnings("ignore:The number of unique classes:UserWarning")  # one example an issue
def test_a_rebuild_past_the_threshold_trains_its_lists_on_the_issues(db, engine, settings):
    # 40 issues of title + one example: 80 vectors, 36 lists, so the issues' means train them.
    settings.CARELINE_ANN_MIN_VECTORS = 1
    _topics_create(0, 40)

    _lists_trained_on_issues(index_rebuild())


@pytest.mark.filterwarnings("ignore:The number of unique classes:UserWarning")  # one example an issue
def test_a_sync_that_takes_the_index_past_the_threshold_trains_its_lists_on_the_issues(db, engine, settings):
    settings.CARELINE_ANN_MIN_VECTORS = 60
    _topics_create(0, 20)
    assert index_rebuild().count == 40  # exact
    _topics_create(20, 20)

    version = index_sync()

    assert version.kind == IndexVersion.Kind.INCREMENTAL
    _lists_trained_on_issues(version)


def _list_of_each(index: VectorIndex) -> dict[int, int]:
    """Which IVF list each id is stored in."""
    lists = index._index.invlists
    return {
        int(i): n
        for n in range(index._index.nlist)
        for i in faiss.rev_swig_ptr(lists.get_ids(n), lists.list_size(n)).tolist()
    }


# ---- incremental sync -------------------------------------------------------------------------


def _add_example(library):
    services.example_create(issue=library.issues["cancelled-flight"], text="no flight tomorrow, now what")


def _change_example_text(library):
    example = library.examples["cancelled again, what now??"]
    services.example_update(example=example, text="they scrapped my flight to Oslo")


def _retire_example(library):
    services.example_retire(example=library.examples["cancelled again, what now??"])


def _retire_last_approved_response(library):
    services.response_retire(response=library.responses["cancelled-flight-any"])


def _approve_a_draft(library):
    draft = library.responses["onboard-wifi-draft"]
    services.response_submit(response=draft)
    services.response_approve(response=draft)


@pytest.mark.parametrize(
    "edit, added, removed",
    [
        (_add_example, 1, 0),
        (_change_example_text, 1, 1),
        (_retire_example, 0, 1),
        (_retire_last_approved_response, 0, 4),  # its three examples and its title
        (_approve_a_draft, 4, 0),
    ],
    ids=["add-example", "change-text", "retire-example", "retire-last-reply", "approve-draft"],
)
def test_sync_after_an_edit_changes_only_the_vectors_concerned(
    library, fake_embedder, monkeypatch, edit, added, removed
):
    edit(library)
    encoded: list[str] = []
    encode = fake_embedder.encode
    monkeypatch.setattr(
        fake_embedder, "encode", lambda texts, **kw: encoded.extend(texts) or encode(texts, **kw)
    )

    version = index_sync()

    assert version != library.version
    assert active_version() == version
    assert version.kind == IndexVersion.Kind.INCREMENTAL
    assert (version.added, version.removed) == (added, removed)
    assert len(encoded) == added  # nothing unchanged was embedded again
    assert version.count == len(indexed_ids(version)) == library.version.count + added - removed
    assert index_status()["fresh"] is True


def test_synced_text_change_is_what_the_engine_now_matches(library):
    example = library.examples["cancelled again, what now??"]
    services.example_update(example=example, text="they scrapped my flight to Oslo")

    index_sync()
    answer = suggestions_for(mention=Mention(text="they scrapped my flight to Oslo"))

    assert answer.suggestions[0].issue["key"] == "cancelled-flight"
    assert answer.suggestions[0].matched_example == "they scrapped my flight to Oslo"
    assert answer.suggestions[0].score == pytest.approx(1.0, abs=1e-3)


def test_sync_of_an_unchanged_library_is_a_no_op(library):
    versions = IndexStore().versions()

    assert index_sync() == library.version
    assert IndexVersion.objects.count() == 1
    assert IndexStore().versions() == versions


def test_sync_with_no_index_builds_one_in_full(unindexed_library):
    version = index_sync()

    assert version.kind == IndexVersion.Kind.FULL
    assert version.count == SEARCHABLE_VECTORS
    assert active_version() == version


def test_sync_started_from_a_version_no_longer_active_starts_again_from_the_new_one(library, monkeypatch):
    issue = library.issues["cancelled-flight"]
    first = services.example_create(issue=issue, text="flight scrapped at midnight")
    read = IndexStore.read
    concurrent: list[IndexVersion] = []
    second: list[Example] = []

    def read_while_another_writer_activates(self, version, *, expected_model):
        loaded = read(self, version, expected_model=expected_model)
        if not concurrent:
            # Another process rebuilds (seeing the first edit) and the library changes again,
            # after this sync read its base version and before it activates its own.
            concurrent.append(index_rebuild())
            second.append(services.example_create(issue=issue, text="airline scrapped my trip home"))
        return loaded

    monkeypatch.setattr(IndexStore, "read", read_while_another_writer_activates)

    version = index_sync()

    assert active_version() == version
    assert version.kind == IndexVersion.Kind.INCREMENTAL
    assert (version.added, version.removed) == (1, 0)  # only the second edit, on the rebuild
    assert {first.pk, second[0].pk} <= indexed_ids(version)
    # The abandoned attempt left neither a version row nor files behind.
    assert list(IndexVersion.objects.order_by("id")) == [library.version, concurrent[0], version]
    assert set(IndexStore().versions()) == {v.version for v in IndexVersion.objects.all()}


def test_two_consecutive_syncs_after_two_edits_both_land(library):
    issue = library.issues["password-reset"]
    one = services.example_create(issue=issue, text="locked out of my account after three tries")
    first = index_sync()
    two = services.example_create(issue=issue, text="two factor code never comes by sms")
    second = index_sync()

    assert first != second
    assert (first.added, second.added) == (1, 1)
    assert {one.pk, two.pk} <= indexed_ids(second)
    assert second.count == SEARCHABLE_VECTORS + 2
    assert top_issue("two factor code never comes by sms") == "password-reset"


def test_committed_library_change_syncs_the_index(library, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.example_create(
            issue=library.issues["password-reset"], text="two factor code never comes by sms"
        )

    version = active_version()
    assert version != library.version
    assert (version.kind, version.added, version.removed) == (IndexVersion.Kind.INCREMENTAL, 1, 0)
    assert index_status()["fresh"] is True
    assert top_issue("two factor code never comes by sms") == "password-reset"


def test_uncommitted_library_change_leaves_the_index_as_it_was(library):
    services.example_create(issue=library.issues["password-reset"], text="two factor code never comes by sms")

    assert active_version() == library.version
    assert index_status()["fresh"] is False


@pytest.mark.django_db(transaction=True)
def test_every_committed_edit_reaches_the_index_without_anyone_asking(engine):
    library_build()  # one batch, announced once: the index is built in full by the sync
    built = active_version()
    assert built is not None and built.count == SEARCHABLE_VECTORS

    services.example_create(
        issue=Issue.objects.get(key="password-reset"), text="two factor code never comes by sms"
    )
    services.response_retire(response=Response.objects.get(key="card-declined-twitter"))

    latest = active_version()
    assert IndexVersion.objects.count() == 3
    assert latest.count == SEARCHABLE_VECTORS + 1 - 4
    assert index_status()["fresh"] is True
    assert top_issue("two factor code never comes by sms") == "password-reset"


# ---- ranking head and calibration -------------------------------------------------------------


def meta_of(version: IndexVersion) -> dict:
    return IndexStore().read(version.version, expected_model=version.model)[1]


def head_choice(text: str) -> int:
    """The issue the served head finds most likely for `text`."""
    head = holder.get().head
    query = get_embedder().encode([normalize_mention(text)])[0]
    return int(head.issue_ids[np.argmax(head.probabilities(query))])


def test_rebuilt_version_carries_a_head_over_exactly_the_searchable_issues(library):
    meta = meta_of(library.version)

    assert HEAD_FILE in meta["attachments"]
    assert IndexStore().storage.exists(f"{library.version.version}/{HEAD_FILE}")
    served = holder.get()
    assert served.head is not None
    assert sorted(served.head.issue_ids.tolist()) == sorted(library.issues[key].pk for key in SEARCHABLE)
    for text in ("the airline lost my luggage on the connecting flight", "cancelled again, what now??"):
        assert head_choice(text) == library.examples[text].issue_id


def test_small_library_has_no_calibration_and_confidence_follows_the_cosine(library, settings):
    assert len(SEARCHABLE) < MIN_CALIBRATION_ISSUES
    assert meta_of(library.version)["calibration"] is None
    assert holder.get().calibration is None

    answer = suggestions_for(mention=Mention(text="the airline lost my luggage on the connecting flight"))

    best = answer.suggestions[0]
    steepness, centre = settings.CARELINE_CONFIDENCE_STEEPNESS, settings.CARELINE_CONFIDENCE_CENTRE
    assert best.confidence == pytest.approx(1 / (1 + math.exp(-steepness * (best.score - centre))), abs=1e-3)


def test_moving_an_example_to_another_issue_retrains_the_ranking_on_the_next_sync(library):
    text = "still waiting for my delayed suitcase three days later"
    services.example_update(example=library.examples[text], issue=library.issues["cancelled-flight"])
    assert head_choice(text) == library.issues["lost-baggage"].pk  # the served head predates the move

    version = index_sync()

    assert version != library.version
    assert (version.kind, version.added, version.removed) == (IndexVersion.Kind.INCREMENTAL, 0, 0)
    assert head_choice(text) == library.issues["cancelled-flight"].pk
    answer = suggestions_for(mention=Mention(text=text))
    assert answer.suggestions[0].issue["key"] == "cancelled-flight"
    assert not answer.abstained
    assert index_sync() == version  # the move is recorded: nothing left to do


def test_moving_an_issue_to_another_brand_makes_the_next_sync_write_a_new_version(library):
    issue = library.issues["password-reset"]
    acme, globex = library.brands["acme-air"], library.brands["globex-bank"]
    assert holder.get().may_answer(issue.pk, acme.pk)  # a global issue until now
    services.issue_update(issue=issue, brand=globex)

    version = index_sync()

    assert version != library.version
    assert (version.added, version.removed) == (0, 0)
    served = holder.get()
    assert served.version == version.version
    assert not served.may_answer(issue.pk, acme.pk)
    assert served.may_answer(issue.pk, globex.pk)
    answer = suggestions_for(mention=Mention(text="the password reset email never arrives", brand=acme))
    assert "password-reset" not in [suggestion.issue["key"] for suggestion in answer.suggestions]


# Distinct vocabularies, so each issue is a tight cluster of the fake embedder's vectors.
TOPICS = [
    ("parcel", "courier", "doorstep", "tracking"),
    ("invoice", "billing", "overcharged", "statement"),
    ("router", "broadband", "modem", "outage"),
    ("mortgage", "interest", "repayment", "lender"),
    ("pharmacy", "prescription", "refill", "pills"),
    ("locker", "gym", "membership", "treadmill"),
    ("coupon", "voucher", "redeem", "expiry"),
    ("kitchen", "oven", "installer", "warranty"),
    ("subtitle", "streaming", "buffering", "episode"),
    ("parking", "permit", "fine", "meter"),
    ("insurance", "claim", "adjuster", "premium"),
    ("tenant", "landlord", "deposit", "lease"),
]


def large_library_build() -> None:
    """More issues than the calibration needs, each with four examples and a live reply."""
    with services.library_batch():
        for number, (a, b, c, d) in enumerate(TOPICS):
            issue = services.issue_create(key=f"topic-{number}", title=f"{a} {d} question")
            for text in (
                f"{a} {b} {c}",
                f"{b} {c} {d} again",
                f"my {a} and {c} and {d}",
                f"{a} {b} {d} help",
            ):
                services.example_create(issue=issue, text=text)
            services.response_create(
                issue=issue,
                key=f"topic-{number}-any",
                channel="any",
                status="approved",
                text=f"About your {a}.",
            )


@pytest.fixture
def large_library(db, engine) -> IndexVersion:
    """A library big enough to calibrate, indexed and served."""
    assert len(TOPICS) > MIN_CALIBRATION_ISSUES
    large_library_build()
    return index_rebuild()


def _add_examples(count: int, *, start: int = 0) -> None:
    issue = Issue.objects.get(key="topic-0")
    for number in range(start, start + count):
        services.example_create(issue=issue, text=f"parcel courier lost box number {number}")


def test_large_library_is_served_with_its_fitted_calibration(large_library):
    calibration = meta_of(large_library)["calibration"]

    assert calibration["changes_since"] == 0
    assert holder.get().calibration == Calibration.from_dict(calibration)
    assert top_issue("parcel courier doorstep") == "topic-0"
    assert not suggestions_for(mention=Mention(text="parcel courier doorstep")).abstained
    assert suggestions_for(mention=Mention(text="what a lovely sunny day for gardening")).abstained


def test_small_syncs_keep_the_calibration_and_count_the_changes(large_library):
    fitted = meta_of(large_library)["calibration"]

    _add_examples(1)
    first = index_sync()
    _add_examples(2, start=1)
    second = index_sync()

    assert meta_of(first)["calibration"] == {**fitted, "changes_since": 1}
    assert meta_of(second)["calibration"] == {**fitted, "changes_since": 3}
    assert holder.get().calibration == Calibration.from_dict(fitted)


@pytest.mark.parametrize(
    "min_changes, share, refitted",
    [(2, 0.0, True), (3, 0.0, False), (1, 0.5, False)],
    ids=["more-than-the-minimum", "within-the-minimum", "within-the-share-of-the-index"],
)
def test_calibration_is_fitted_again_once_more_vectors_changed_than_allowed(
    large_library, monkeypatch, min_changes, share, refitted
):
    monkeypatch.setattr(indexing, "RECALIBRATE_MIN_CHANGES", min_changes)
    monkeypatch.setattr(indexing, "RECALIBRATE_SHARE", share)
    fitted = meta_of(large_library)["calibration"]

    _add_examples(1)
    index_sync()  # 1 change: within every limit here
    _add_examples(2, start=1)
    version = index_sync()  # 3 changes since the fit

    calibration = meta_of(version)["calibration"]
    assert calibration["changes_since"] == (0 if refitted else 3)
    assert (calibration["weights"] != fitted["weights"]) is refitted  # the library grew since the fit


def test_full_rebuild_fits_the_calibration_again(large_library):
    _add_examples(1)
    assert meta_of(index_sync())["calibration"]["changes_since"] == 1

    assert meta_of(index_rebuild())["calibration"]["changes_since"] == 0


def _resave_as_before_heads(version: IndexVersion) -> IndexVersion:
    """Save `version` again as versions were saved before ranking heads (no head.npz; no
    attachments, calibration or issue brands in meta.json) and serve it."""
    store = IndexStore()
    index, meta = store.read(version.version, expected_model=version.model)
    name = store.new_version()
    written = store.write(name, index, {"model": meta["model"], "library_digest": meta["library_digest"]})
    older = {
        key: value for key, value in meta.items() if key not in ("attachments", "calibration", "issue_brands")
    }
    older.update(version=name, index_sha256=written["index_sha256"])
    store.storage.delete(f"{name}/{META_FILE}")
    store.storage.save(f"{name}/{META_FILE}", ContentFile(json.dumps(older).encode()))
    old = IndexVersion.objects.create(
        version=name,
        kind=version.kind,
        model=version.model,
        dimension=version.dimension,
        count=version.count,
        library_digest=version.library_digest,
    )
    ActiveIndex.objects.update(version=old)
    return old


def test_version_saved_before_heads_existed_still_serves_suggestions(library):
    old = _resave_as_before_heads(library.version)

    served = holder.get()

    assert served.version == old.version
    assert (served.head, served.calibration) == (None, None)
    assert not IndexStore().storage.exists(f"{old.version}/{HEAD_FILE}")
    answer = suggestions_for(mention=Mention(text="the airline lost my luggage", channel="twitter"))
    assert answer.suggestions[0].issue["key"] == "lost-baggage"
    assert not answer.abstained
    assert top_issue("cancelled again, what now??") == "cancelled-flight"
    assert (
        top_issue("card declined again at checkout", brand=library.brands["globex-bank"]) == "card-declined"
    )


# ---- serving ----------------------------------------------------------------------------------


def test_holder_picks_up_a_new_version_within_poll_seconds(library, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(serving, "time", SimpleNamespace(monotonic=lambda: now[0]))
    monkeypatch.setattr(serving, "POLL_SECONDS", 5.0)
    assert holder.get().version == library.version.version

    newer = index_rebuild()
    now[0] += 4.9
    assert holder.get().version == library.version.version  # cached: no database query yet
    now[0] += 0.2
    assert holder.get().version == newer.version


def _delete_version(version: IndexVersion) -> None:
    IndexStore().delete_version(version.version)


def _corrupt_index_file(version: IndexVersion) -> None:
    path = IndexStore().storage.path(f"{version.version}/{INDEX_FILE}")
    with open(path, "r+b") as fh:
        fh.seek(40)
        fh.write(b"\x00garbage\x00")


def _garble_meta(version: IndexVersion) -> None:
    path = IndexStore().storage.path(f"{version.version}/{META_FILE}")
    with open(path, "w") as fh:
        fh.write("{not json")


def _drop_pointer(version: IndexVersion) -> None:
    ActiveIndex.objects.update(version=None)


def _tamper_with_head(version: IndexVersion) -> None:
    path = IndexStore().storage.path(f"{version.version}/{HEAD_FILE}")
    with open(path, "r+b") as fh:
        fh.seek(-10, 2)
        fh.write(b"\x00garbage\x00")


@pytest.mark.parametrize(
    "damage",
    [_delete_version, _corrupt_index_file, _garble_meta, _drop_pointer, _tamper_with_head],
    ids=lambda f: f.__name__[1:],
)
def test_unusable_active_index_is_unavailable_and_a_rebuild_restores_service(library, damage):
    damage(library.version)

    with pytest.raises(IndexUnavailable):
        holder.get()
    with pytest.raises(IndexUnavailable):
        suggestions_for(mention=Mention(text="my luggage never arrived"))

    index_rebuild()
    assert top_issue("the airline lost my luggage") == "lost-baggage"


def test_sync_over_an_unreadable_active_version_rebuilds_in_full(library):
    _corrupt_index_file(library.version)

    version = index_sync()

    assert version.kind == IndexVersion.Kind.FULL
    assert version.count == SEARCHABLE_VECTORS
    assert top_issue("the airline lost my luggage") == "lost-baggage"


def test_sync_over_an_active_version_with_a_damaged_head_rebuilds_in_full(library):
    _tamper_with_head(library.version)

    version = index_sync()

    assert version.kind == IndexVersion.Kind.FULL
    assert holder.get().version == version.version
    assert top_issue("the airline lost my luggage") == "lost-baggage"


def test_process_keeps_serving_its_last_good_index_when_the_newly_activated_one_is_unreadable(library):
    assert holder.get().version == library.version.version
    newer = index_rebuild()
    _corrupt_index_file(newer)

    for _ in range(3):  # every check, not every other one
        assert holder.get().version == library.version.version
    assert top_issue("the airline lost my luggage") == "lost-baggage"


def test_index_built_by_another_model_is_refused(library):
    with use_embedder(FakeEmbedder(dimension=64)):
        with pytest.raises(IndexModelMismatch, match="rebuild"):
            holder.get()

        version = index_sync()  # cannot start from it: builds in full with the model in use

        assert version.kind == IndexVersion.Kind.FULL
        assert version.model == "fake-hashing-64"
        assert holder.get().version == version.version
        assert top_issue("the airline lost my luggage") == "lost-baggage"


def test_old_versions_are_pruned_to_the_last_few(library, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        built = [index_rebuild() for _ in range(indexing.KEEP_VERSIONS + 2)]

    kept = [version.version for version in built[-indexing.KEEP_VERSIONS :]]
    assert IndexStore().versions() == kept
    assert holder.get().version == kept[-1]


def test_prune_spares_a_version_another_writer_is_still_writing(library, django_capture_on_commit_callbacks):
    store = IndexStore()
    unfinished = store.new_version()
    store.storage.save(f"{unfinished}/{INDEX_FILE}", ContentFile(b"half"))

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(indexing.KEEP_VERSIONS + 1):
            index_rebuild()

    assert store.storage.exists(f"{unfinished}/{INDEX_FILE}")
