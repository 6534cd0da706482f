"""Text stored in both languages in the database (names, descriptions, summaries).

Database text cannot go through gettext, so models keep a Korean and an English copy. Two field
conventions exist: `<field>_ko` and `<field>_en` (policy), or `<field>_ko` and a bare `<field>`
for the English (consent). `pick` reads either.
"""

from __future__ import annotations

from typing import Any, Literal

from django.utils.translation import get_language


def language(code: str | None = None) -> Literal["en", "ko"]:
    """ "en" for English, else "ko": the language `code` given, or the active one."""
    return "en" if (code or get_language() or "ko").startswith("en") else "ko"


def pick(
    obj: Any,
    field: str,
    language_code: str | None = None,
    *,
    english_fallback: bool = True,
    korean_fallback: bool = True,
) -> Any:
    """`obj`'s `field` in the given (or the active) language.

    Korean reads `<field>_ko`; English reads `<field>_en`, or `<field>` where the model has no
    `_en` field. A blank Korean text falls back to the English one unless `english_fallback` is
    False, a blank English text to the Korean one unless `korean_fallback` is False.
    """
    english_name = f"{field}_en" if hasattr(obj, f"{field}_en") else field
    korean = getattr(obj, f"{field}_ko", "")
    english = getattr(obj, english_name, "")
    if language(language_code) == "en":
        return english or (korean if korean_fallback else english)
    return korean or (english if english_fallback else korean)


def counted(n: int, name: str) -> str:
    """ "200 visit logs" / "방문 기록 200건": a count and a plural name, in the active language's order."""
    from django.utils.translation import gettext

    return gettext("%(n)s %(name)s") % {"n": n, "name": name}
