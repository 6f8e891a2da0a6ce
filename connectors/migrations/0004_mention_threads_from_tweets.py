"""The mentions read from X before the inbox knew threads take theirs from the tweets kept."""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def threads_from_tweets(apps, schema_editor):
    Mention = apps.get_model("console", "Mention")
    XTweet = apps.get_model("connectors", "XTweet")
    tweet = XTweet.objects.filter(mention=OuterRef("pk"))
    Mention.objects.filter(x_tweet__isnull=False, conversation_id="").update(
        conversation_id=Subquery(tweet.values("conversation_id")[:1]),
        in_reply_to_id=Subquery(tweet.values("replied_to_id")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("connectors", "0003_xconnection_polling_until"),
        ("console", "0004_mention_conversation"),
    ]

    operations = [migrations.RunPython(threads_from_tweets, migrations.RunPython.noop)]
