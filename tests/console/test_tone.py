from __future__ import annotations

import pytest

from console.tone import ANGRY, ToneReading, tone_read

REASONS = {"angry", "urgent", "praise", "chatter"}


def test_a_shouted_complaint_reads_angrier_than_a_calm_question():
    shouted = tone_read("MY SUITCASE IS STILL MISSING AND NOBODY ANSWERS THE PHONE!!! WORST TRIP EVER")
    calm = tone_read("Hello, could you tell me what time the desk opens tomorrow?")

    assert shouted.anger > calm.anger
    assert shouted.anger >= ANGRY
    assert "angry" in shouted.reasons
    assert "angry" not in calm.reasons
    assert shouted.needs_reply and calm.needs_reply


def test_the_same_words_shouted_read_angrier_than_written_calmly():
    calm = tone_read("the replacement part never came and the app keeps crashing")
    shouted = tone_read("THE REPLACEMENT PART NEVER CAME AND THE APP KEEPS CRASHING!!!")

    assert shouted.anger > calm.anger


def test_thanks_for_a_great_crew_needs_no_reply():
    reading = tone_read("thanks so much, great crew!")

    assert not reading.needs_reply
    assert "praise" in reading.reasons
    assert reading.anger < ANGRY


def test_a_question_about_a_refund_needs_a_reply():
    reading = tone_read("when will my refund arrive?")

    assert reading.needs_reply
    assert "praise" not in reading.reasons
    assert "chatter" not in reading.reasons


def test_thanks_beside_a_grievance_is_not_praise():
    reading = tone_read("thanks for nothing, my parcel is lost for the second time")

    assert reading.needs_reply
    assert "praise" not in reading.reasons


def test_praise_with_a_question_still_needs_a_reply():
    reading = tone_read("Love the new menu, brilliant! Do you deliver on Sundays?")

    assert reading.needs_reply


def test_waiting_for_hours_and_asap_read_urgent():
    urgent = tone_read("been on hold for two hours, I need my booking fixed asap")
    unhurried = tone_read("is the lounge in terminal 2 open on weekends?")

    assert "urgent" in urgent.reasons
    assert "urgent" not in unhurried.reasons
    assert urgent.anger > unhurried.anger


def test_swearing_raises_anger():
    plain = tone_read("the delivery was late again")
    sworn = tone_read("the damn delivery was late again, what the hell")

    assert sworn.anger > plain.anger


def test_small_talk_is_chatter_that_needs_no_reply():
    reading = tone_read("lol")

    assert reading.reasons == ("chatter",)
    assert not reading.needs_reply


def test_an_angry_face_alone_asks_for_a_reply():
    assert tone_read("😡😡").needs_reply


def test_links_and_handles_are_not_shouting():
    reading = tone_read("@ACMEAIR @HELPDESK see https://EXAMPLE.COM/ABCDEFGH for the timetable")

    assert "angry" not in reading.reasons


@pytest.mark.parametrize("text", ["", "   ", "😀👍", "🙏🙏🙏", "!!!", "&amp;", "#", "@acme"])
def test_empty_or_emoji_only_text_reads_without_error(text):
    reading = tone_read(text)

    assert isinstance(reading, ToneReading)
    assert 0.0 <= reading.anger <= 1.0
    assert set(reading.reasons) <= REASONS


def test_a_very_long_text_reads_like_its_opening():
    opening = "THIS IS UNACCEPTABLE, MY ORDER IS LOST AND NOBODY HELPS!!! "
    reading = tone_read(opening + "and then we waited some more. " * 20_000)

    assert reading.anger >= ANGRY
    assert reading.needs_reply


def test_readings_stay_within_bounds_and_known_reasons():
    texts = [
        "WORST WORST WORST!!!! F*** THIS, I WANT A REFUND NOW, STRANDED FOR 9 HOURS 😡😡😡",
        "absolutely wonderful, amazing, perfect, thank you thank you thank you 😍",
        "flight 22 gate B4",
    ]
    for text in texts:
        reading = tone_read(text)
        assert 0.0 <= reading.anger <= 1.0
        assert set(reading.reasons) <= REASONS
