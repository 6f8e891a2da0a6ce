"""The console when the engine abstained: the ranked drafts folded under "Nothing fits well —
closest drafts", one key away and marked low-confidence, on a mention's page, in the paste box;
one may be sent like any draft."""

from __future__ import annotations

import pytest
from django.utils.html import escape

from console.models import Mention
from console.services import mention_candidates, mention_nothing_fits
from kb import services
from suggestions.models import Feedback
from tests.console.test_candidates import DM, received

FOLD = "Nothing fits well — closest drafts"


@pytest.fixture
def abstaining(settings):
    settings.CARELINE_ABSTAIN_THRESHOLD = 1.0


@pytest.fixture
def doubted(library, abstaining, django_capture_on_commit_callbacks):
    mention = received(library, django_capture_on_commit_callbacks)
    assert mention.suggestion.abstained and mention.suggestion.candidates[0]["response"] == DM
    return mention


@pytest.fixture
def browser(client, agent):
    client.force_login(agent)
    return client


def page(client, mention) -> str:
    answer = client.get(f"/mentions/{mention.pk}/")
    assert answer.status_code == 200
    return answer.content.decode()


def test_nothing_fits_in_the_console_is_offered_beside_the_candidates(doubted, browser, agent):
    html = page(browser, doubted)
    assert 'id="nothing-fits"' in html

    mention_nothing_fits(mention=doubted, agent=agent)

    assert 'id="nothing-fits"' not in page(browser, doubted)


def test_the_candidates_are_folded_under_their_heading_one_key_away(doubted, browser, agent):
    html = page(browser, doubted)

    start = html.index('<details id="closest-drafts"')
    fold = html[start : html.index("</details>", start)]
    assert FOLD in fold
    assert "<kbd>c</kbd>" in fold  # the key that unfolds it
    for draft in mention_candidates(mention=doubted, agent=agent):
        assert escape(draft["text"]) in fold
        assert f"confidence {draft['confidence']:.2f}" in fold
        assert f'value="{draft["response"]}"' in fold  # sent as that draft
    assert "low confidence" in fold
    assert 'id="own-reply"' in html  # writing one's own stays open


def test_a_confident_mention_has_no_fold(library, browser, django_capture_on_commit_callbacks):
    mention = received(library, django_capture_on_commit_callbacks)

    html = page(browser, mention)

    assert FOLD not in html and 'id="closest-drafts"' not in html


def test_sending_a_candidate_from_the_console_answers_the_mention(doubted, browser, agent):
    draft = mention_candidates(mention=doubted, agent=agent)[0]

    answer = browser.post(f"/mentions/{doubted.pk}/send/", {"text": draft["text"], "response": DM})

    assert answer.status_code == 302
    doubted.refresh_from_db()
    assert (doubted.status, doubted.reply_text) == (Mention.Status.ANSWERED, draft["text"])
    assert Feedback.objects.get().action == Feedback.Action.ACCEPTED


def test_a_refused_candidate_keeps_the_agents_text_in_the_fold(doubted, browser, library, editor):
    services.response_retire(response=library.responses[DM], retired_by=editor)

    answer = browser.post(f"/mentions/{doubted.pk}/send/", {"text": "Jane, my words. ^SL", "response": DM})

    html = answer.content.decode()
    assert "it may not be sent" in html or "pick another draft" in html
    own = html[html.index('id="own-reply"') :]
    assert "Jane, my words. ^SL" in own  # its draft is gone: kept as the agent's own reply


def test_the_paste_box_folds_low_confidence_drafts_the_same_way(library, browser, abstaining):
    html = browser.post(
        "/paste/", {"text": "@AcmeAir the airline lost my luggage", "channel": "twitter"}
    ).content.decode()

    assert "Nothing in the library fits this mention." in html
    fold = html[html.index('<details id="closest-drafts"') :]
    assert FOLD in fold and "low confidence" in fold
    assert "Checked bag lost or delayed at the airport" in fold
    assert "^SL" in fold


def test_the_paste_box_shows_confident_drafts_unfolded(library, browser):
    html = browser.post(
        "/paste/", {"text": "@AcmeAir the airline lost my luggage", "channel": "twitter"}
    ).content.decode()

    assert "Checked bag lost or delayed at the airport" in html
    assert 'id="closest-drafts"' not in html
