"""A thread read from X: each tweet files into its conversation, so the console shows it whole,
and a follow-up goes to the agent who holds the tweet it continues."""

from __future__ import annotations

from console.models import Mention
from console.selectors import mention_thread
from console.services import mention_take


def test_a_follow_up_tweet_joins_the_thread_and_goes_to_its_holder(fake_x, connection, poll, agent):
    opening = fake_x.mention("my bag never arrived")
    poll()
    first = Mention.objects.get(external_id=opening)
    mention_take(mention=first, agent=agent)

    follow_up = fake_x.mention("still nothing, three days later", reply_to=opening)
    poll()

    later = Mention.objects.get(external_id=follow_up)
    assert (later.conversation_id, later.in_reply_to_id) == (opening, opening)
    assert (first.conversation_id, first.in_reply_to_id) == (opening, "")
    assert mention_thread(mention=later, agent=agent) == [first, later]
    assert (later.status, later.assigned_to) == (Mention.Status.ASSIGNED, agent)


def test_a_new_thread_lands_unassigned(fake_x, connection, poll, agent):
    opening = fake_x.mention("my bag never arrived")
    poll()
    mention_take(mention=Mention.objects.get(external_id=opening), agent=agent)

    other = fake_x.mention("and can I change my seat?")
    poll()

    assert Mention.objects.get(external_id=other).assigned_to is None
