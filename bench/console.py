"""What the agents' console and the inbox API cost with a full inbox.

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.console               # 1,000 open mentions
    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.console --mentions 5000

Runs against the configured database (`make setup`'s SQLite by default) inside a transaction
that is rolled back at the end, so nothing is left behind. The mentions are pushed to the sample
library's first brand and answered by the engine (its index must be built: `make setup`), then an
agent's inbox refresh (as htmx asks for it), the Done today tab, a mention's page and the inbox
API's default page are each requested 15 times through Django's test client. Printed: the median
and p90 time, the queries of one request and the size of the answer.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
from datetime import timedelta


class RolledBack(Exception):
    """Raised to undo everything the benchmark wrote."""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mentions", type=int, default=1000, help="open mentions in the inbox")
    parser.add_argument("--repeat", type=int, default=15, help="requests per page")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    logging.disable(logging.INFO)  # one line per computed suggestion otherwise

    from django.contrib.auth.models import Group, User
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from console.models import Mention
    from console.services import mention_receive, mention_suggest
    from kb.models import Brand

    texts = ["my flight got cancelled", "lost my bag", "can I bring my dog", "refund please", "wifi is down"]
    try:
        with transaction.atomic():
            brand = Brand.objects.order_by("key").first()
            agent = User.objects.create_user("bench-agent", first_name="Bench", last_name="Agent")
            agent.groups.add(Group.objects.get(name="Agents"))
            started = time.perf_counter()
            for number in range(args.mentions):
                mention, _ = mention_receive(
                    text=f"@{brand.handle if brand else 'Brand'} {texts[number % len(texts)]} #{number}",
                    external_id=f"bench-{number}",
                    channel="twitter",
                    brand=brand,
                    author_name="Jane",
                    received_at=timezone.now() - timedelta(minutes=number % 120),
                )
                mention_suggest(mention_id=mention.pk)  # on-commit tasks never run in here
            pushed = time.perf_counter() - started
            print(f"{args.mentions} mentions pushed and answered in {pushed:.1f} s")

            client = Client()
            client.force_login(agent)
            first = Mention.objects.filter(external_id="bench-0").get()
            pages = [
                ("inbox refresh", "/", {"HX-Request": "true"}),
                ("done today", "/?queue=done", {"HX-Request": "true"}),
                ("a mention's page", f"/mentions/{first.pk}/", {}),
                ("GET /api/v1/mentions/", "/api/v1/mentions/", {}),
            ]
            for label, url, headers in pages:
                client.get(url, headers=headers)  # warm
                times = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    with CaptureQueriesContext(connection) as queries:
                        answer = client.get(url, headers=headers)
                    times.append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200, (url, answer.status_code)
                p90 = sorted(times)[int(0.9 * (len(times) - 1))]
                print(
                    f"{label:>22}: median {statistics.median(times):6.1f} ms, p90 {p90:6.1f} ms, "
                    f"{len(queries)} queries, {len(answer.content) // 1024} KB"
                )
            raise RolledBack
    except RolledBack:
        pass


if __name__ == "__main__":
    main()
