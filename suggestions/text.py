"""Cleaning social-media text before it is embedded; callers keep and show the original.

Decisions, in the order they are applied:

- HTML entities are unescaped (platform APIs send ``&amp;``, ``&lt;``, ``&gt;``).
- A leading ``RT`` and the run of @handles that opens a reply (``RT @a @b: ...``,
  ``.@a ...``) are addressing, not content: dropped.
- A closing block of hashtags (with any emoji, links, handles and punctuation among them) after
  the sentence's last word or full stop is the tweet's tagging, not its sentence: dropped, as
  long as the sentence before it keeps at least MIN_SENTENCE_WORDS words ("my bag never arrived
  #fail #AcmeAir 😡" -> "my bag never arrived"; "help! #lostluggage" keeps its tag, and so does
  "my flight got #Cancelled!!", whose sentence ends after the tag). Tags tacked on for mood or
  reach (#fail, #help, #NotHappy) otherwise pull a mention away from its topic: measured with
  BANKING77 validation messages as tweets (a leading handle, a closing tag, emoji and link; rows
  after the library's, never the test rows) top-1 fell from 0.865 to 0.831 with tags kept and
  stays at 0.865 without; on the sample library (leave-one-out, nearest phrasing of the same
  brand, editors' own tweets, some with topical tags such as #lostluggage) top-1 went from 0.530
  to 0.533.
- URLs (``http(s)://...``, ``www....``) are dropped: shortened links carry no meaning.
- Other @handles keep their name without the ``@`` ("flew @AcmeAir" -> "flew AcmeAir"): the
  brand or person named is part of the sentence. ``me@example.com`` is not a handle.
- Hashtags lose the ``#``; CamelCase tags split into lowercased words (``#FlightCancelled`` ->
  "flight cancelled", ``#NYCDelays`` -> "NYC delays"), underscores become spaces, and tags with
  no case boundary stay one word (``#lostbag``, ``#AC1234``). ``#iPhone`` stays "iPhone".
- Emoji that name a thing become their CLDR short names, without skin-tone qualifiers ("✈️" ->
  "airplane", "🧳" -> "luggage"); a run of the same emoji counts once, as repeated letters do
  below. Emoji that only express feeling (faces such as "😡" "enraged face", hearts, hand
  gestures) are dropped: measured on the sample library (leave-one-out, nearest phrasing of the
  same brand), naming them matched mentions by mood rather than topic (top-1 0.578 with every
  emoji named, 0.589 with none, 0.592 with things named and feelings dropped; on the 71
  phrasings with emoji 0.479 / 0.507 / 0.549).
- A letter repeated 3+ times is cut to 2 ("soooo" -> "soo"); a run of ``!``/``?`` keeps each
  mark once, in order ("!!!!" -> "!", "?!?!" -> "?!"); any other repeated symbol is cut to one.
- Whitespace is collapsed and the ends stripped.
- Case is kept: all-MiniLM-L6-v2's tokenizer is uncased (``do_lower_case: true``), so
  lowercasing here would change nothing for it, and a cased model should see the case.
- If nothing is left (the text was only handles, links or symbols), the original text, stripped,
  is returned instead: an empty string embeds to noise.

Topics (``mention_topics``, applied to the normalized text): a mention such as "5 hrs late so I
missed my connection AND my bag went to another city" is about two issues, and one vector of the
whole is a blend of both that matches neither confidently. It is cut into topics, each embedded
beside the whole (suggestions.retrieval.issues_matching_topics):

- Cuts fall at a sentence's end (``.`` ``!`` ``?``), at ``;``, an em or en dash, at a free-standing
  ``-`` ``+`` ``&``, at "oh and", at a shouted "AND", at "also" "plus" "then" after a comma, and
  at "and" "also" "plus" "then" when a new clause follows (a pronoun, "my", "the", "now",
  "there"...). "cancelled and nobody rebooked me" or "legroom and a window seat" stay one topic:
  what follows their "and" goes on with the same subject.
- A topic keeps at least MIN_TOPIC_WORDS words; a shorter piece joins the one before it (or
  the one after, when it opens the mention), so "my flight got cancelled. why?" stays whole.
- At most MAX_TOPICS topics (the rest joins the last): each one costs a search.
- A mention with one topic gives none: the whole mention is all there is to embed.
- Measured with bench.two_topics (40 two-issue mentions written for it, sample library, see its
  README figures): both issues' drafts offered and ranked in the top 3 more often, and no
  single-topic figure of bench.airline worse; 843 of its 1575 real tweets have topics.
"""

from __future__ import annotations

import html
import re

import emoji

MIN_SENTENCE_WORDS = 3
_EMOJI_MASK = "\ufffc"
# From a hashtag, handle, link or emoji (masked) to the end of the text, nothing but more of them
# and punctuation other than a sentence's end: "my flight got #Cancelled!!" ends its sentence
# with the tag, so the tag is a word of it.
_TAGGING = r"(?:#\w+|@\w+|https?://\S+|www\.\S+|\ufffc+)"
_CLOSING_BLOCK = re.compile(rf"(?<!\S){_TAGGING}(?:[^\w.!?]*{_TAGGING})*[^\w.!?]*$", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")
_LEADING_ADDRESSING = re.compile(r"^\s*(?:RT\b\s*:?\s*)?(?:\.?@\w+[:,]?\s*)*")
_URL = re.compile(r"(?:\bhttps?://|\bwww\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@])@(\w+)")
_HASHTAG = re.compile(r"(?<![\w&#])#(\w+)")
# Split "FlightCancelled" and "NYCDelays", not "iPhone" or "AC1234".
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z])(?<!^[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
# Emoji that only carry feeling (faces, hearts, hand gestures, a few symbols): their names would
# match mentions by mood instead of topic ("😡" joins an angry lost bag to an angry broken one).
_FEELING_EMOJI = re.compile(
    r"face|heart|\bhands?\b|handshake|thumbs|finger|fist|biceps|index pointing|horns|gestur"
    r"|shrugging|\bbowing|\bpouting|\bfrowning|palms|hundred points|anger symbol|pile of poo"
    r"|skull|sparkles|collision|dizzy|sweat droplets"
)
_SKIN_TONE = re.compile(r"(?:^|_)(?:medium-light|medium-dark|light|medium|dark)_skin_tone(?=_|$)")
# Private-use characters fence emoji names so repeats of one emoji can be found afterwards.
_OPEN, _CLOSE = "\ue000", "\ue001"
_FENCES = re.compile(f"[{_OPEN}{_CLOSE}]")
_REPEATED_EMOJI = re.compile(f"({_OPEN}[^{_CLOSE}]*{_CLOSE})(?:\\s*\\1)+")
_REPEATED_LETTER = re.compile(r"([^\W\d_])\1{2,}", re.IGNORECASE)
_MARK_RUN = re.compile(r"[!?]{2,}")
_REPEATED_SYMBOL = re.compile(r"([^\w\s!?])\1+")
_WHITESPACE = re.compile(r"\s+")


def normalize_mention(text: str) -> str:
    """Return ``text`` cleaned for embedding (see the module docstring for each rule)."""
    original = text.strip()
    if not original:
        return ""
    text = _FENCES.sub("", html.unescape(text))
    text = _LEADING_ADDRESSING.sub("", text, count=1)
    text = _without_closing_tags(text)
    text = _URL.sub(" ", text)
    text = _MENTION.sub(r"\1", text)
    text = _HASHTAG.sub(_hashtag_words, text)
    if not text.isascii():
        text = emoji.replace_emoji(text, replace=_emoji_name)
        text = _REPEATED_EMOJI.sub(r"\1", text)
        text = _FENCES.sub(" ", text)
    text = _REPEATED_LETTER.sub(lambda m: m.group(1) * 2, text)
    text = _MARK_RUN.sub(lambda m: "".join(dict.fromkeys(m.group())), text)
    text = _REPEATED_SYMBOL.sub(r"\1", text)
    text = _WHITESPACE.sub(" ", text).strip()
    return text or original


def _without_closing_tags(text: str) -> str:
    # Emoji become one placeholder character each, so one pattern finds the closing block.
    masked = list(text)
    if not text.isascii():
        for found in emoji.emoji_list(text):
            masked[found["match_start"] : found["match_end"]] = _EMOJI_MASK * (
                found["match_end"] - found["match_start"]
            )
    closing = _CLOSING_BLOCK.search("".join(masked))
    if closing is None or "#" not in closing.group():
        return text
    sentence = text[: closing.start()]
    return sentence if len(_WORD.findall(sentence)) >= MIN_SENTENCE_WORDS else text


def _hashtag_words(match: re.Match[str]) -> str:
    words: list[str] = []
    for part in match.group(1).split("_"):
        pieces = _CAMEL_BOUNDARY.split(part)
        if len(pieces) > 1:
            # Acronyms keep their capitals; Capitalised words are just CamelCase artefacts.
            pieces = [p if p.isupper() else p.lower() for p in pieces]
        words.extend(p for p in pieces if p)
    return " " + " ".join(words) + " "


def _emoji_name(chars: str, data: dict[str, str]) -> str:
    name = _SKIN_TONE.sub("", data.get("en", "").strip(":")).replace("_", " ")
    if not name or _FEELING_EMOJI.search(name):  # feelings, or a lone skin-tone modifier
        return " "
    return f" {_OPEN}{name}{_CLOSE} "


MIN_TOPIC_WORDS = 4
MAX_TOPICS = 4
# Words that open a new clause after "and", "plus", "also" or "then" ("... and my bag went to
# Denver"); "and nobody rebooked me" or "and a window seat" go on with the same topic.
_CLAUSE_OPENER = (
    r"(?:my|the|your|our|their|his|her|i|i'm|i've|im|now|they|you|we|it|it's|its|there|this"
    r"|these|those|also|then|on\s+top)\b"
)
_TOPIC_BREAK = re.compile(
    r"(?:\s*(?:"
    r"[;\u2014\u2013]"  # ; and the em and en dashes
    r"|(?<=\s)[-+&](?=\s)"
    r"|(?<![^\s,])(?i:oh\s+and)\b"
    r"|(?<![^\s,])AND\b"  # shouted: always a new topic
    rf"|(?<![^\s,])(?i:and|also|plus|then)(?=\s+(?i:{_CLAUSE_OPENER}))"
    r"|(?<=,)\s*(?i:also|plus|then)\b"
    r"|(?<=[.!?])(?=\s)"
    r"))+\s*"
)
_TOPIC_TRIM = ",:;-\u2014\u2013 "


def mention_topics(text: str) -> list[str]:
    """The topics of a normalized mention (see normalize_mention), one text each, when it has
    more than one; [] when it is about one thing (or too short to tell). See the module
    docstring for where a mention is cut and why."""
    spans: list[tuple[int, int]] = []
    start = 0
    for cut in _TOPIC_BREAK.finditer(text):
        if cut.start() > start:
            spans.append((start, cut.start()))
        start = cut.end()
    if start < len(text):
        spans.append((start, len(text)))
    merged: list[tuple[int, int]] = []
    for span in spans:
        if merged and (_words(text, span) < MIN_TOPIC_WORDS or _words(text, merged[-1]) < MIN_TOPIC_WORDS):
            merged[-1] = (merged[-1][0], span[1])
        else:
            merged.append(span)
    if len(merged) > MAX_TOPICS:
        merged[MAX_TOPICS - 1 :] = [(merged[MAX_TOPICS - 1][0], merged[-1][1])]
    if len(merged) < 2:
        return []
    return [text[begin:end].strip(_TOPIC_TRIM) for begin, end in merged]


def _words(text: str, span: tuple[int, int]) -> int:
    return len(_WORD.findall(text, span[0], span[1]))
