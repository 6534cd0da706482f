"""Finds English UI text on a page that should be Korean.

Used by the browser journeys (and usable by any test holding a page's HTML): after loading a
Korean page, `assert_no_english(html)` fails listing every run of English words that is not an
allowed proper name (a product, a law's abbreviation, a processor) or data a test put there.

What is read: the text a person sees (script and style dropped) and the attributes read aloud or
shown (title, aria-label, placeholder, alt, the value of buttons). What is skipped: elements
marked `lang="en"` (the language switch's "English"), <code>, and anything inside an element
with `data-english-ok`. Email addresses, URLs, references like DSAR-AB12CD and file names are
not words.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Proper names and abbreviations that are English in Korean text too.
ALLOWED = {
    "privacyops",
    "palette",
    "inc",
    "google",
    "analytics",
    "meta",
    "facebook",
    "stibee",
    "youtube",
    "api",
    "apis",
    "pipa",
    "gdpr",
    "dsar",
    "csv",
    "zip",
    "pdf",
    "png",
    "jpeg",
    "jpg",
    "json",
    "sms",
    "ip",
    "id",
    "url",
    "otp",
    "totp",
    "kst",
    "utc",
    "gpc",
    "sns",
    "oauth",
    "http",
    "https",
    "english",  # the language switch names each language in itself
    "ko",
    "en",
    "am",
    "pm",
    # Names a public page shows: institutions, portals, the browser signal, units.
    "instagram",
    "kakao",
    "naver",
    "kisa",
    "pipc",
    "global",
    "privacy",
    "control",
    "html",
    "seoul",
    "kb",
    "mb",
    "gb",
}

_SKIP_TAGS = {"script", "style", "code", "pre", "svg", "noscript", "template"}
_ATTRS = {"title", "aria-label", "placeholder", "alt"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_NOT_WORDS = re.compile(
    r"[\w.+*-]+@[\w-]+(?:\.[\w-]+)+"  # email addresses (masked ones too: al***@example.com)
    r"|https?://\S+|/[\w./?=&#%-]*"  # URLs and paths
    r"|(?<![A-Za-z0-9])[A-Z]{2,}-[A-Z0-9-]+(?![A-Za-z0-9])"  # references (DSAR-AB12CD, INC-2026-0001)
    r"|\b[\w-]+\.(?:png|csv|zip|pdf|txt|html)\b"
    r"|\b[0-9a-f]{8,}\b"  # hashes and ids
)
_ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’]+(?:[ \t-]+[A-Za-z][A-Za-z'’]+)*")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.chunks: list[str] = []

    def _skipping(self) -> bool:
        return any(skip for _tag, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        skip = tag in _SKIP_TAGS or attrs.get("lang", "").startswith("en") or "data-english-ok" in attrs
        if not skip and not self._skipping():
            for name in _ATTRS:
                if attrs.get(name):
                    self.chunks.append(attrs[name])
            if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
                self.chunks.append(attrs["value"])
        if tag not in _VOID:
            self.stack.append((tag, skip))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if not self._skipping():
            self.chunks.append(data)


def visible_text(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return [chunk for chunk in parser.chunks if chunk.strip()]


def english_strings(html: str, *, allow: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """The runs of English words on the page outside the allow-list (case-insensitive words;
    `allow` may also hold whole phrases, such as a test person's name)."""
    return _english_runs(visible_text(html), allow)


def english_on_page(page, *, allow: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """The same for a Playwright page as a person sees it: its title, its rendered text (hidden
    elements left out), and the labels of its buttons and inputs."""
    labels = page.eval_on_selector_all(
        "input[type=submit], input[type=button], button, [placeholder], [aria-label]",
        # An input button shows its value; a <button>'s value is form data, not shown.
        "els => els.map(e => [e.tagName == 'INPUT' ? e.value : '', e.placeholder, e.ariaLabel].join(' '))",
    )
    return _english_runs([page.title(), page.inner_text("body"), *labels], allow)


def _english_runs(chunks: list[str], allow: set[str] | frozenset[str]) -> list[str]:
    allowed_words = ALLOWED | {w.lower() for w in allow if " " not in w}
    phrases = [p for p in allow if " " in p]
    found = []
    for chunk in chunks:
        for phrase in phrases:
            chunk = chunk.replace(phrase, " ")
        chunk = _NOT_WORDS.sub(" ", chunk)
        for run in _ENGLISH_RUN.findall(chunk):
            words = [w for w in re.split(r"[ \t-]+", run) if w]
            if any(w.lower().strip("'’") not in allowed_words for w in words):
                found.append(run)
    return found


def assert_no_english(html: str, *, allow: set[str] | frozenset[str] = frozenset(), where: str = "") -> None:
    found = english_strings(html, allow=allow)
    assert not found, f"English on a Korean page {where}: {sorted(set(found))[:40]}"
