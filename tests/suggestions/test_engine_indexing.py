"""Keeping the vector index in step with the library, and serving it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.files.base import ContentFile

from kb import services
from kb.models import Example, Issue, Response
from suggestions import indexing, serving
from suggestions.embedder import use_embedder
from suggestions.index_store import INDEX_FILE, META_FILE, IndexModelMismatch, IndexStore, IndexUnavailable
from suggestions.indexing import TITLE_ID_BASE, active_version, index_rebuild, index_sync
from suggestions.models import ActiveIndex, IndexVersion
from suggestions.selectors import index_status
from suggestions.services import Mention, suggestions_for
from suggestions.serving import holder
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


@pytest.mark.parametrize(
    "damage",
    [_delete_version, _corrupt_index_file, _garble_meta, _drop_pointer],
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
