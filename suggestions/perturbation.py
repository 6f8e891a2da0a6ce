"""The library's clean phrasings rewritten the way real mentions arrive, for the calibration replay.

Editors write an issue's examples short and on topic; customers write longer, noisier messages:
a greeting, the brand's handle in the sentence, a second sentence of unrelated chatter, a hashtag,
typos, lowercase, stretched words, emoji, sarcasm, two topics in one mention. A calibration fitted
only on clean phrasings is too sure of a close match and too unsure of a noisy right one (on real
airline tweets the right answer had a median confidence of 0.35). ``mention_perturb`` applies two
or three of these rewrites, chosen with the caller's seeded ``random.Random``, so the same library
always replays the same perturbed texts.
"""

from __future__ import annotations

import random

GREETINGS = ("hi", "hey", "hello,", "hi there,", "good morning.", "ok so", "um,", "hey guys")
HANDLES = ("@support", "@helpdesk", "@customercare", "@TheBrand")
CHATTER = (
    "I have been waiting for ages.",
    "This is the third time this week.",
    "Not happy at all.",
    "Thanks in advance!",
    "Please help me.",
    "on my way home now",
    "I really need an answer today",
    "Anyone there?",
    "been a customer for 10 years",
    "my wife is furious",
    "what a day",
    "Seriously.",
)
HASHTAGS = ("#fail", "#help", "#customerservice", "#frustrated", "#NotHappy", "#ugh", "#thanks")
EMOJI = ("😡", "🙏", "😩", "🙄", "😤", "😂", "💔", "✈️", "📱")
SARCASM = ("Great job.", "Just great.", "Thanks a lot.", "Love it.", "Wonderful service as always.")
JOINERS = (" also ", ". And ", ", plus ", ". Oh and ")


def mention_perturb(text: str, *, rng: random.Random) -> str:
    """``text`` rewritten as a customer might send it: two or three rewrites drawn with ``rng``."""
    rewrites = [_context, _noise, _noise, _handle, _hashtag, _sarcasm]
    chosen = rng.sample(rewrites, rng.randint(2, 3))
    # Noise first: a greeting or a chatter sentence should not itself be misspelt.
    chosen.sort(key=lambda rewrite: rewrite is not _noise)
    for rewrite in chosen:
        text = rewrite(text, rng)
    return text


def topics_joined(first: str, second: str, *, rng: random.Random) -> str:
    """Two phrasings in one mention, as customers raise two problems at once."""
    return f"{first.rstrip('.')}{rng.choice(JOINERS)}{second[:1].lower()}{second[1:]}"


def _context(text: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{rng.choice(GREETINGS)} {text}"
    return f"{text.rstrip('.')}. {rng.choice(CHATTER)}"


def _noise(text: str, rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return text.lower()
    if kind == 1:
        return f"{text} {rng.choice(EMOJI)}"
    words = text.split()
    long_words = [index for index, word in enumerate(words) if len(word) > 3 and word.isalpha()]
    if not long_words:
        return text.lower()
    index = rng.choice(long_words)
    word = words[index]
    if kind == 2:  # a typo: two neighbouring letters swapped
        at = rng.randrange(len(word) - 1)
        words[index] = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    else:  # a stretched vowel, or the last letter
        vowels = [at for at, char in enumerate(word) if char in "aeiou"] or [len(word) - 1]
        at = rng.choice(vowels)
        words[index] = word[: at + 1] + word[at] * rng.randint(2, 4) + word[at + 1 :]
    return " ".join(words)


def _handle(text: str, rng: random.Random) -> str:
    words = text.split()
    at = rng.randrange(len(words) + 1) if words else 0
    return " ".join([*words[:at], rng.choice(HANDLES), *words[at:]])


def _hashtag(text: str, rng: random.Random) -> str:
    return f"{text} {rng.choice(HASHTAGS)}"


def _sarcasm(text: str, rng: random.Random) -> str:
    marker = rng.choice(SARCASM)
    return f"{marker} {text}" if rng.random() < 0.5 else f"{text.rstrip('.')}. {marker} 🙄"
