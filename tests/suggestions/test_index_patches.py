"""An edit is served at once as a patch on the active version, before a sync refits the ranking."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kb import services
from suggestions import serving
from suggestions.indexing import SyncInProgress, active_version, index_rebuild, index_sync
from suggestions.models import ActiveIndex, IndexPatch, IndexVersion
from suggestions.patching import index_patch
from suggestions.services import Mention, suggestions_for
from suggestions.serving import holder

pytestmark = pytest.mark.usefixtures("engine")

NEW_PHRASING = "the gate agent told us the plane smells of burnt toast and we all had to get off"


@pytest.fixture(autouse=True)
def _poll_every_request(monkeypatch):
    monkeypatch.setattr(serving, "POLL_SECONDS", 0.0)


def top_issue(text: str, **mention) -> str | None:
    answer = suggestions_for(mention=Mention(text=text, **mention))
    return answer.suggestions[0].issue["key"] if answer.suggestions else None


def test_an_edited_example_is_served_by_a_patch_before_any_new_version(library):
    example = library.issues["cancelled-flight"].examples.first()
    assert top_issue(NEW_PHRASING) != "cancelled-flight"
    versions = IndexVersion.objects.count()

    services.example_update(example=example, text=NEW_PHRASING)
    patch = index_patch([example.issue_id])

    assert patch is not None and IndexVersion.objects.count() == versions
    assert ActiveIndex.objects.get().patch_id == patch.pk
    assert holder.get().version == library.version.version and holder.get().patch_id == patch.pk
    assert top_issue(NEW_PHRASING) == "cancelled-flight"


def test_a_patch_encodes_only_what_changed_and_a_second_one_finds_nothing_to_do(library):
    issue = library.issues["lost-baggage"]
    services.example_create(issue=issue, text=NEW_PHRASING)

    patch = index_patch([issue.pk])

    assert list(patch.removed) == [] and patch.added_hashes and len(patch.added_hashes) == 1
    assert index_patch([issue.pk]) is None


def test_a_retired_example_and_a_retired_issue_stop_being_found_at_once(library):
    issue = library.issues["card-declined"]
    text = issue.examples.first().text
    brand = library.brands["globex-bank"]
    assert top_issue(text, brand=brand) == "card-declined"

    services.issue_retire(issue=issue)
    patch = index_patch([issue.pk])

    assert set(patch.removed) == {example.pk for example in issue.examples.all()} | {
        serving.TITLE_ID_BASE + issue.pk
    }
    assert top_issue(text, brand=brand) != "card-declined"
    assert top_issue(issue.title, brand=brand) != "card-declined"


def test_an_example_moved_to_another_issue_is_found_under_the_new_one_and_ranked_there_after_the_sync(
    library,
):
    baggage, cancelled = library.issues["lost-baggage"], library.issues["cancelled-flight"]
    example = baggage.examples.first()
    text = example.text

    services.example_update(example=example, issue=cancelled)
    index_patch([baggage.pk, cancelled.pk])

    mention = Mention(text=text, brand=library.brands["acme-air"])
    # Found at once (the ranking still leans to its old issue until the sync refits it)...
    assert "cancelled-flight" in [
        suggestion.issue["key"] for suggestion in suggestions_for(mention=mention).ranked
    ]
    index_sync()
    assert suggestions_for(mention=mention).ranked[0].issue["key"] == "cancelled-flight"


def test_an_issue_moved_to_another_brand_is_searched_among_its_new_brands_vectors(library):
    issue = library.issues["card-declined"]
    text = issue.examples.first().text
    acme, globex = library.brands["acme-air"], library.brands["globex-bank"]
    assert top_issue(text, brand=acme) != "card-declined"

    services.issue_update(issue=issue, brand=acme)
    patch = index_patch([issue.pk])

    assert patch.issue_brands == {str(issue.pk): acme.pk}
    assert top_issue(text, brand=acme) == "card-declined"
    assert top_issue(text, brand=globex) != "card-declined"


def test_a_new_issue_is_found_before_the_ranking_knows_it(library):
    brand = library.brands["acme-air"]
    issue = services.issue_create(key="burnt-smell", title="Smell of burning on board", brand=brand)
    services.example_create(issue=issue, text=NEW_PHRASING)
    services.response_create(
        issue=issue,
        key="burnt-smell-any",
        channel="any",
        status="approved",
        text="We are on it. ^{{ agent_initials }}",
    )

    index_patch([issue.pk])

    assert issue.pk not in holder.get().head.issue_ids  # the ranking is the version's
    assert top_issue(NEW_PHRASING, brand=brand) == "burnt-smell"


def test_the_sync_after_patches_reuses_their_vectors_and_serves_the_same(library):
    example = library.issues["cancelled-flight"].examples.first()
    services.example_update(example=example, text=NEW_PHRASING)
    patch = index_patch([example.issue_id])
    patched_answer = top_issue(NEW_PHRASING)

    version = index_sync()

    assert version.added == 1 and version.kind == IndexVersion.Kind.INCREMENTAL
    served = holder.get()
    assert served.version == version.version and not served.overlay.added
    assert not IndexPatch.objects.filter(base=version).exists()  # nothing written after it read
    assert IndexPatch.objects.filter(pk=patch.pk, base=library.version).exists()
    assert top_issue(NEW_PHRASING) == patched_answer == "cancelled-flight"


def test_a_patch_on_a_version_no_longer_active_is_worked_out_against_the_new_one(library):
    example = library.issues["lost-baggage"].examples.first()
    services.example_update(example=example, text=NEW_PHRASING)
    rebuilt = index_rebuild()  # holds the edit already

    assert index_patch([example.issue_id]) is None
    assert active_version() == rebuilt


def test_a_sync_leaves_the_work_to_another_one_running_and_takes_over_a_lapsed_lease(library):
    example = library.issues["cancelled-flight"].examples.first()
    services.example_update(example=example, text=NEW_PHRASING)
    ActiveIndex.objects.update(sync_lease_until=timezone.now() + timedelta(seconds=20))

    assert index_sync() == library.version  # another worker is at it

    ActiveIndex.objects.update(sync_lease_until=timezone.now() - timedelta(seconds=1))
    version = index_sync()

    assert version != library.version and version.added == 1
    assert ActiveIndex.objects.get().sync_lease_until is None


def test_with_no_version_yet_a_sync_behind_another_one_says_so_for_its_task_to_retry(library):
    ActiveIndex.objects.update(version=None, sync_lease_until=timezone.now() + timedelta(seconds=20))

    with pytest.raises(SyncInProgress):
        index_sync()
