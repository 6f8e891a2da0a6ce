"""Where a suggestion request's time goes, layer by layer, in one process.

    .venv/bin/python -m bench.http_breakdown

In a throwaway Careline with the sample library (bench.run.Sandbox), the same mentions are asked
four ways, each timed per mention, medians printed: the encoder alone (one mention), the engine
(`suggestions_for`: encode, search, ranking, live-draft checks and rendering), the engine storing
what it answered (`suggestion_create`), and the whole Django stack (`POST /api/v1/suggestions/`
through Django's test client: middleware, token authentication, throttles, DRF). What is left to
gunicorn and the socket is what `bench.run`'s HTTP figure adds to the last.
"""

from __future__ import annotations

import json

from bench.run import Sandbox

PROBE = r"""
import json, statistics, time
import django
django.setup()
from django.contrib.auth import get_user_model
from django.test import Client
from knox.models import AuthToken
from suggestions.embedder import get_embedder
from suggestions.services import Mention, suggestion_create, suggestions_for

user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-password-1")
_, token = AuthToken.objects.create(user)
client = Client(HTTP_AUTHORIZATION=f"Token {token}")
texts = [
    "my flight got cancelled and nobody can rebook me",
    "where is my bag, it never came off the belt in lisbon",
    "been on hold for two hours, is anyone there",
    "can I bring my cat in the cabin",
] * 60
embedder = get_embedder()
ways = {
    "encode": lambda text: embedder.encode([text]),
    "suggestions_for": lambda text: suggestions_for(mention=Mention(text=text)),
    "suggestion_create": lambda text: suggestion_create(mention=Mention(text=text)),
    "django_post": lambda text: client.post(
        "/api/v1/suggestions/", data=json.dumps({"text": text, "limit": 3}), content_type="application/json"
    ),
}
for way in ways.values():
    for text in texts[:20]:
        way(text)
medians = {}
for name, way in ways.items():
    times = []
    for text in texts:
        started = time.perf_counter()
        way(text)
        times.append((time.perf_counter() - started) * 1000)
    medians[name] = round(statistics.median(times), 2)
print(json.dumps(medians))
"""


def main() -> None:
    box = Sandbox()
    try:
        box.manage("migrate", "--noinput")
        box.manage("import_library", "kb/fixtures/sample_library.json")
        box.manage("rebuild_index")
        medians = json.loads(box.python(PROBE).splitlines()[-1])
    finally:
        box.close()
    print("| layer | median ms | ratio to encode |")
    print("|---|---|---|")
    for name, value in medians.items():
        print(f"| {name} | {value:.2f} | {value / medians['encode']:.2f} |")


if __name__ == "__main__":
    main()
