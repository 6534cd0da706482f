"""Korean particles chosen by the final consonant of the word they follow.

A Korean sentence that inserts a name ("Palette Inc.", "구글", "DSAR-2026-0007") cannot fix its
particle in the catalogue: 이/가, 을/를, 은/는, 과/와 and 으로/로 depend on whether the name's last
syllable ends in a consonant (받침), and 으로/로 on whether that consonant is ㄹ. Catalogues write
the conventional double form ("%(company)s이(가)"), and the text is passed through
`resolve_particles` once the name is in; `with_particle(word, "이/가")` does it for one word. Both
are template filters too (`{% load korean %}`: `{{ name|particle:"이/가" }}`, and
`{% filter particles %}...{% endfilter %}` around a whole message).

How the final sound is decided (the rule, documented for translators):

- a Hangul syllable: its own final consonant;
- a digit: as read in Korean (일, 칠, 팔 end in ㄹ; 영, 삼, 육 in another consonant; 이, 사, 오, 구
  in none), so "DSAR-2026-0007이", "10건은";
- a Latin word written in capitals of up to five letters is read letter by letter ("KISA", "GA",
  "SMS"): only L (엘, ㄹ), M (엠) and N (엔) end in a consonant;
- another Latin word by its usual English ending: -m, -n, -ng end in a consonant, -l and -le in ㄹ
  (Google 구글, Apple 애플, Instagram), anything else in none (Meta, Stibee, YouTube, Analytics,
  "Inc." read 잉크);
- anything else (symbols, other scripts): undecidable, and the conventional double form stays
  ("이(가)"), which every Korean reader accepts.

Trailing punctuation (closing quotes and brackets, a full stop) is skipped: "“Newsletter”을(를)".
"""

from __future__ import annotations

import re

from django import template
from django.utils.safestring import SafeString, mark_safe

# (after a final consonant, after none); 으로/로 also takes 로 after ㄹ.
PAIRS = {
    "이/가": ("이", "가"),
    "을/를": ("을", "를"),
    "은/는": ("은", "는"),
    "과/와": ("과", "와"),
    "으로/로": ("으로", "로"),
    "이나/나": ("이나", "나"),
    "이라/라": ("이라", "라"),
}
# The double forms written in catalogues, and the pair each stands for.
WRITTEN = {
    "이(가)": "이/가",
    "가(이)": "이/가",
    "을(를)": "을/를",
    "를(을)": "을/를",
    "은(는)": "은/는",
    "는(은)": "은/는",
    "과(와)": "과/와",
    "와(과)": "과/와",
    "(으)로": "으로/로",
    "으로(로)": "으로/로",
    "(이)나": "이나/나",
    "(이)라": "이라/라",
}
NONE, RIEUL, OTHER = "none", "rieul", "other"
_DIGITS = {
    "0": OTHER,
    "1": RIEUL,
    "2": NONE,
    "3": OTHER,
    "4": NONE,
    "5": NONE,
    "6": OTHER,
    "7": RIEUL,
    "8": RIEUL,
    "9": NONE,
}
_LETTER_NAMES = {"L": RIEUL, "M": OTHER, "N": OTHER}
_TRAILING = ".,!?”’\"')]}」』>»"
_WORD = re.compile(r"[0-9A-Za-z\uac00-\ud7a3]+$")
_DOUBLE = re.compile("|".join(re.escape(form) for form in sorted(WRITTEN, key=len, reverse=True)))


def final_sound(word: str) -> str | None:
    """NONE, RIEUL or OTHER for the last sound of `word`, None when it cannot be told."""
    stripped = str(word).rstrip().rstrip(_TRAILING).rstrip()
    match = _WORD.search(stripped)
    if not match:
        return None
    token = match.group()
    last = token[-1]
    if "\uac00" <= last <= "\ud7a3":
        final = (ord(last) - 0xAC00) % 28
        return NONE if final == 0 else RIEUL if final == 8 else OTHER
    if last.isdigit():
        return _DIGITS[last]
    letters = re.search(r"[A-Za-z]+$", token).group()
    if letters.isupper() and len(letters) <= 5:
        return _LETTER_NAMES.get(letters[-1], NONE)
    lower = letters.lower()
    if lower.endswith(("l", "le")):
        return RIEUL
    if lower.endswith(("m", "n", "ng")):
        return OTHER
    return NONE


def choose(word: str, pair: str) -> str:
    """The particle of `pair` ("이/가", ...) that follows `word`; the double form when undecidable."""
    with_final, without = PAIRS[pair]
    sound = final_sound(word)
    if sound is None:
        return f"{with_final}({without})" if pair != "으로/로" else "(으)로"
    if pair == "으로/로":
        return with_final if sound == OTHER else without
    return with_final if sound != NONE else without


def with_particle(word: str, pair: str) -> str:
    """`word` followed by the right particle: with_particle("Palette Inc.", "이/가") -> "Palette Inc.가"."""
    return f"{word}{choose(word, pair)}"


def resolve_particles(text: str) -> str:
    """Replace each double form ("이(가)", "을(를)", "(으)로"...) by the particle the word before it
    takes. A double form after a space or at the start is left alone (it follows no word)."""

    def pick(match: re.Match) -> str:
        before = text[: match.start()]
        if not before or before[-1].isspace():
            return match.group()
        return choose(before, WRITTEN[match.group()])

    if "(" not in text:
        return text
    result = _DOUBLE.sub(pick, text)
    # Only fixed Korean particles were put in: safe text stays safe.
    return mark_safe(result) if isinstance(text, SafeString) else result  # noqa: S308


# --- template filters ({% load korean %}; the library is registered in settings.TEMPLATES) -----
register = template.Library()


@register.filter(name="particle")
def particle_filter(word, pair: str) -> str:
    """{{ name|particle:"이/가" }}"""
    return with_particle(word, pair)


@register.filter(name="particles", is_safe=True)
def particles_filter(text) -> str:
    """{% filter particles %}...{% endfilter %}: resolve every double form in the block."""
    return resolve_particles(text)
