"""How a customer sounds: anger and urgency read from a mention's words, and whether it asks for a reply.

The valence of words, emoji, emphasis and negation comes from VADER (the ``vadersentiment``
package, MIT licence: a lexicon and rules made for social media, shipped inside the package, read
from disk once per process). Customer care adds what a general lexicon does not weigh: words that
name a service failure ("cancelled", "stranded", "on hold"), shouting (capitals, "!!!"), urgency
("asap", "still waiting", "hours"), swearing, and whether the customer asks for anything at all.
Pure and offline: no database, no network, well under a millisecond for a mention.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from functools import cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

# A mention's opening says how it sounds; the cap keeps a pasted essay as cheap as a tweet.
MAX_CHARS = 2000
ANGRY = 0.5  # anger from which a mention reads as angry (its "angry" reason)

# VADER's valence (-4..4) for words that mean something else in customer care: a request's
# "please" and "help" are not praise, a failed service is bad news even where plain English is calm.
CARE_VALENCE = {
    "please": 0.0,
    "pls": 0.0,
    "plz": 0.0,
    "help": 0.0,
    "helping": 0.0,
    "joke": -1.5,
    "canceled": -1.0,
    "cancelled": -1.5,
    "cancel": -0.5,
    "stranded": -2.0,
    "overbooked": -1.5,
    "bumped": -1.0,
    "late": -1.0,
    "nobody": -0.8,
    "refund": -0.5,
    "useless": -2.5,
    "unhelpful": -2.0,
}

# Words naming a service failure or a grievance: one of them makes a mention a complaint, however
# politely it is put ("thanks for the 3 hour delay").
COMPLAINT = re.compile(
    r"\b(?:delay(?:ed|s)?|cancell?(?:ed|ation)|lost|los(?:e|ing)|missing|broken?|damaged|stuck|stranded|"
    r"overbooked|bumped|refund|compensat\w+|rude|worst|worse|never|unacceptable|ridiculous|"
    r"terrible|horrible|awful|disappoint\w*|fail(?:ed|s|ure)?|useless|no one|nobody|still no|"
    r"not happy|on hold|waiting|charged|complain(?:t|ing)?|lied|lying|joke|"
    r"hung up|refused?|ignor(?:ed|ing)|forgot|forgotten|waste[ds]?|wasting|impossible|unable|"
    r"(?:not|isn't|isnt|doesn't|doesnt|didn't|didnt|won't|wont|never) (?:work\w*|help\w*|respond\w*|"
    r"arrive[ds]?|received?|answer\w*|inform\w*|fix\w*|care)|"
    r"no (?:response|answer|reply|help|update|info\w*)|(?:can't|cant|cannot) (?:get|find|reach|believe)|"
    r"unbelievable|incorrect(?:ly)?|wrong|mistake|tarmac|why (?:do|does|did|is|are|would|can't|won't|"
    r"isn't|wasn't|aren't) (?:you|u|your|it|they|i|we|my|there)|problems?|issues?|screw\w*|nonsense|"
    r"(?:can't|cant|cannot|couldn't|unable to|won't let|not allowing|not able to) (?!wait)\w+|"
    r"not even|another (?:airline|carrier|company|provider|bank|store)|never again|"
    r"(?:you|u|they) (?:should|shouldn't|need to)|wait(?:ed|ing)? (?:time|times|for|over|on)|"
    r"thanks?(?: you)? for (?:not|nothing|never|making me|leaving|losing|the \d+))\b",
    re.IGNORECASE,
)
URGENT_STRONG = re.compile(
    r"\b(?:asap|immediately|urgent(?:ly)?|emergency(?! exit)|right now|stranded|stuck|still waiting|"
    r"been waiting|on hold|missed (?:my|our|the) (?:flight|connection)|"
    r"miss(?:ing)? my (?:flight|connection))\b",
    re.IGNORECASE,
)
URGENT_WEAK = re.compile(r"\b(?:now|hours?|hrs?|today|tonight|tomorrow|still|again|minutes|mins)\b", re.I)
SWEARING = re.compile(
    r"\b(?:fuck\w*|f\*+k\w*|shit\w*|s\*+t|wtf|omfg|bs|bullshit|crap\w*|damn\w*|pissed|screw (?:you|this)|"
    r"hell|sucks?)\b|[#$%@&*][#$%@&*!]{2,}",  # and grawlix ("$#%!"), not a plain "!!!"
    re.IGNORECASE,
)
THANKS = re.compile(
    r"\b(?:thanks?|thx|ty|thank you|appreciate\w*|kudos|shout ?out|love|great|awesome|amazing|"
    r"wonderful|excellent|fantastic|best|brilliant|perfect)\b",
    re.IGNORECASE,
)
REQUEST = re.compile(
    r"\b(?:please|pls|plz|help|need|can (?:you|i|we|someone)|could (?:you|i|we|someone)|"
    r"would you|will you|let me know|dm|direct message|call me|contact|fix|get back to|"
    r"i want|i'd like|want to|how (?:do|can|long)|change my|cancel my|rebook|looking for)\b",
    re.IGNORECASE,
)
QUESTION_OPENING = re.compile(
    r"^(?:who|what|when|where|why|how|which|is|are|am|do|does|did|can|could|will|would|should|"
    r"has|have|any)\b",
    re.IGNORECASE,
)
LAUGHTER_OR_GREETING = re.compile(
    r"^(?:(?:lol|lmao|haha\w*|hehe\w*|ok(?:ay)?|cool|nice|yay|wow|hi|hello|hey|yes|no|same|true|"
    r"omg|ha|mood|this)\W*)+$",
    re.IGNORECASE,
)

# Faces and signs of anger or exasperation, which VADER's emoji descriptions leave nearly neutral.
CROSS_EMOJI = re.compile(
    "[\U0001f621\U0001f92c\U0001f620\U0001f4a2\U0001f624\U0001f644\U0001f612"
    "\U0001f44e\U0001f4a9\U0001f629\U0001f62b\U0001f62d\U0001f62a]"
)
LINK = re.compile(r"https?://\S+|www\.\S+")
HANDLE = re.compile(r"(?<!\w)@\w+")
HASHTAG = re.compile(r"#(\w+)")
CAMEL_JOINT = re.compile(r"(?<=[a-z])(?=[A-Z])")  # #BadService reads as "Bad Service"
WORD = re.compile(r"[A-Za-z][A-Za-z']*")


@dataclass(frozen=True)
class ToneReading:
    """How a mention sounds: ``anger`` 0 (calm) to 1 (furious, or desperate for an answer),
    ``needs_reply`` False for praise and chatter that ask nothing, and the ``reasons`` behind it
    (among "angry", "urgent", "praise", "chatter")."""

    anger: float
    needs_reply: bool
    reasons: tuple[str, ...]


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    analyzer = SentimentIntensityAnalyzer()
    analyzer.lexicon.update(CARE_VALENCE)
    return analyzer


def _plain(text: str) -> str:
    """The customer's own words: entities decoded, links and @handles dropped, hashtags as words
    (split where their capitals join words)."""
    text = html.unescape(text[:MAX_CHARS])
    text = LINK.sub(" ", text)
    text = HANDLE.sub(" ", text)
    text = HASHTAG.sub(lambda tag: " " + CAMEL_JOINT.sub(" ", tag.group(1)), text)
    return text.strip()


def _shouting(words: list[str], text: str) -> float:
    """0..1: how much of the mention is shouted (capitals in words of four letters or more, so an
    airport or a flight code is not a shout) and how hard its exclamations are."""
    long_words = [word for word in words if len(word) >= 4]
    capitals = sum(1 for word in long_words if word.isupper())
    share = capitals / len(long_words) if long_words else 0.0
    caps = 1.0 if capitals >= 3 or (capitals >= 2 and share >= 0.5) else 0.5 if capitals == 1 else 0.0
    bangs = 1.0 if re.search(r"[!?]*![!?]*![!?]*!", text) or "?!" in text or "!?" in text else 0.0
    return min(1.0, 0.7 * caps + 0.5 * bangs)


def tone_read(text: str) -> ToneReading:
    """Read a mention's tone: how angry or urgent it sounds, and whether it asks for a reply."""
    plain = _plain(text)
    words = WORD.findall(plain)
    valence = _analyzer().polarity_scores(plain)["compound"] if plain else 0.0
    complaints = len(COMPLAINT.findall(plain)) + min(len(CROSS_EMOJI.findall(plain)), 2)
    swearing = bool(SWEARING.search(plain))
    shouting = _shouting(words, plain)
    strong, weak = len(URGENT_STRONG.findall(plain)), len(URGENT_WEAK.findall(plain))
    urgent = strong > 0 or (weak >= 2 and (complaints > 0 or valence < 0))

    # Warm words calm a reading fully only when nothing is wrong: beside a grievance they are as
    # often sarcasm or politeness as contentment. Shouting at a warm, grievance-free mention is joy.
    warmth = max(0.0, valence) * (0.6 if complaints else 1.5)
    emphasis = shouting if complaints or swearing or valence < 0.3 else 0.0
    score = (
        -2.0
        + 3.0 * max(0.0, -valence)
        + 0.9 * min(complaints, 3)
        + 1.2 * emphasis
        + 0.6 * min(strong + 0.5 * weak, 2.0)
        + 1.2 * swearing
        - warmth
    )
    anger = round(1.0 / (1.0 + math.exp(-score)), 3)

    asks = "?" in plain or bool(QUESTION_OPENING.match(plain)) or bool(REQUEST.search(plain))
    complains = anger >= ANGRY or complaints > 0 or valence <= -0.3
    # A mention glowing on the whole is praise despite one passing grievance ("great crew despite
    # the delay"); otherwise any grievance outweighs warm words.
    tolerated = 1 if valence >= 0.7 else 0
    praise = (
        anger < ANGRY
        and complaints <= tolerated
        and valence >= 0.3
        and (bool(THANKS.search(plain)) or valence >= 0.6)
    )
    chatter = (
        not asks
        and not complains
        and not praise
        and (len(words) <= 2 or bool(LAUGHTER_OR_GREETING.match(" ".join(words))))
    )
    reasons = tuple(
        reason
        for reason, present in (
            ("angry", anger >= ANGRY),
            ("urgent", urgent),
            ("praise", praise),
            ("chatter", chatter),
        )
        if present
    )
    return ToneReading(anger=anger, needs_reply=asks or complains or not (praise or chatter), reasons=reasons)
