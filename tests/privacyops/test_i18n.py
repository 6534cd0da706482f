"""One ko/en picker for text stored in both languages (privacyops.lib.i18n)."""

from __future__ import annotations

from types import SimpleNamespace

from django.utils import translation

from privacyops.lib.i18n import language, pick


def test_the_language_is_the_one_given_or_the_active_one_and_korean_otherwise():
    assert language("en-us") == "en" and language("ko") == "ko"
    with translation.override("en"):
        assert language() == "en"
    with translation.override("ko"):
        assert language() == "ko"
    with translation.override(None):
        assert language() == "ko"


def test_it_reads_ko_en_fields_and_bare_english_fields():
    officer = SimpleNamespace(name_ko="김담당", name_en="Kim")
    category = SimpleNamespace(name_ko="필수", name="Necessary")
    assert pick(officer, "name", "ko") == "김담당" and pick(officer, "name", "en") == "Kim"
    assert pick(category, "name", "ko") == "필수" and pick(category, "name", "en") == "Necessary"
    with translation.override("en"):
        assert pick(officer, "name") == "Kim"


def test_a_blank_text_falls_back_to_the_other_language_unless_told_not_to():
    blank_english = SimpleNamespace(summary_ko="요약", summary_en="")
    blank_korean = SimpleNamespace(summary_ko="", summary_en="Summary")
    assert pick(blank_english, "summary", "en") == "요약"
    assert pick(blank_korean, "summary", "ko") == "Summary"
    assert pick(blank_english, "summary", "en", korean_fallback=False) == ""
    assert pick(blank_korean, "summary", "ko", english_fallback=False) == ""
