"""Find English UI words on a Korean public page (the subject journeys' check; issue 19).

A Korean page may still show proper names (companies, services, laws' abbreviations), file
formats, addresses and reference numbers; everything else in Latin letters is an untranslated
string. `english_on_page(page)` returns the offending words of the page's visible text.
"""

from __future__ import annotations

import re

# Proper names and formats a Korean page legitimately shows in Latin letters.
ALLOWED = {
    word.lower()
    for word in """
    Palette Inc Google Analytics Meta Facebook Instagram Stibee YouTube Kakao Naver
    KISA PIPC PIPA GPC Global Privacy Control ZIP PDF JPEG JPG PNG CSV JSON HTML SMS OTP TOTP
    DSAR ID IP URL UTC KST Seoul privacyops pltt xyz Axes English KB MB GB
    """.split()
}
# Addresses, links, reference numbers and codes are data, not UI words.
_DATA = re.compile(
    r"[\w.+-]+@[\w.-]+"  # email addresses
    r"|https?://\S+|/[\w/.-]+"  # links and paths
    r"|\b[A-Z]{2,}(?:-[A-Z0-9]+)+(?![A-Za-z0-9])"  # references like DSAR-8ZCPWLZ2
    r"|\b[0-9a-f]{8,}\b"  # hashes and ids
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]+")


def english_words(text: str, *, allow: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Latin-letter words of `text` that are not allowed names, addresses or codes."""
    allowed = ALLOWED | {word.lower() for word in allow}
    cleaned = _DATA.sub(" ", text)
    return [word for word in _WORD.findall(cleaned) if word.lower().strip("'’") not in allowed]


def english_on_page(page, *, allow: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """The English words a person sees on a Playwright page (its visible text, the title, and
    the labels of buttons and inputs)."""
    text = "\n".join(
        [
            page.title(),
            page.inner_text("body"),
            *page.eval_on_selector_all(
                "input[type=submit], input[type=button], button, [placeholder], [aria-label]",
                # An input button shows its value; a <button>'s value is form data, not shown.
                "els => els.map(e => [e.tagName == 'INPUT' ? e.value : '', e.placeholder, e.ariaLabel].join(' '))",
            ),
        ]
    )
    return english_words(text, allow=allow)
