import pytest
from suggestions.services import Mention, suggestions_for
from kb.models import Brand
QUERIES = []
@pytest.mark.parametrize("q", [l for l in open('/tmp/eng/q.txt').read().splitlines() if l.strip()])
def test_probe(library, q, settings):
    settings.CARELINE_ABSTAIN_THRESHOLD = 0
    text, _, brand = q.partition(" || ")
    b = Brand.objects.get(key=brand) if brand else None
    a = suggestions_for(mention=Mention(text=text, brand=b, channel="any"), limit=6)
    print("\nQ", q)
    for s in a.suggestions:
        print("   %.3f %.3f %s | %s" % (s.score, s.confidence, s.issue["key"], s.matched_example))
