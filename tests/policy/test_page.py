from __future__ import annotations

import html as html_module
import re

import pytest

pytestmark = pytest.mark.django_db

INSTITUTIONS_KO = [
    "개인정보침해 신고센터 (한국인터넷진흥원)",
    "개인정보 분쟁조정위원회",
    "대검찰청",
    "경찰청 사이버수사국",
]
INSTITUTIONS_EN = [
    "Personal Information Infringement Report Center (KISA)",
    "Personal Information Dispute Mediation Committee (PIPC)",
    "Supreme Prosecutors&#x27; Office",
    "Korean National Police Agency, Cyber Bureau",
]
PHONES_AND_SITES = [
    "118",
    "1833-6972",
    "1301",
    "182",
    "privacy.kisa.or.kr",
    "www.kopico.go.kr",
    "www.spo.go.kr",
    "ecrm.police.go.kr",
]


def section(html: str, number: int) -> str:
    """The text of one numbered section of the page."""
    match = re.search(rf'<section aria-labelledby="s{number}">(.*?)</section>', html, re.S)
    assert match, f"section {number} missing"
    return match.group(1)


def test_it_states_every_seeded_fact_in_korean_by_default(client):
    html = client.get("/privacy/").content.decode()
    assert '<html lang="ko">' in html
    for processor in ("Google Analytics", "Meta", "Stibee"):
        assert processor in section(html, 3)
    assert "서비스 계약 종료 시까지" in section(html, 3)
    retention = section(html, 4)
    assert "3년" in retention and "3개월" in retention
    assert "「전자상거래 등에서의 소비자보호에 관한 법률」" in retention
    officer = section(html, 6)
    for fact in ("Jongkeun Lee", "대표이사", "02-568-9181", "hello@pltt.xyz"):
        assert fact in officer
    for fact in INSTITUTIONS_KO + PHONES_AND_SITES:
        assert fact in officer
    revisions = section(html, 7)
    assert "2025년 5월 1일" in revisions and "2025년 6월 1일" in revisions  # announcement and effective date
    assert "7일" in revisions and "30일" in revisions


def test_it_states_every_seeded_fact_in_english(client):
    html = client.get("/privacy/", headers={"accept-language": "en"}).content.decode()
    assert '<html lang="en">' in html
    entrustment = section(html, 3)
    for fact in ("Google Analytics", "Meta", "Stibee", "User data analysis", "Until end of service agreement"):
        assert fact in entrustment
    retention = section(html, 4)
    assert "3 years" in retention and "3 months" in retention
    assert "Protection of Communications Secrets Act" in retention
    officer = section(html, 6)
    for fact in ["Jongkeun Lee", "CEO", "02-568-9181", "hello@pltt.xyz", *INSTITUTIONS_EN, *PHONES_AND_SITES]:
        assert fact in officer
    assert "May 1, 2025" in section(html, 7) and "June 1, 2025" in section(html, 7)


def test_the_language_switch_posts_to_setlang_and_the_page_follows(client):
    html = client.get("/privacy/").content.decode()
    assert 'action="/i18n/setlang/"' in html and 'name="language"' in html
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/privacy/"})
    assert response.status_code == 302 and response["Location"] == "/privacy/"
    assert "Privacy policy" in client.get("/privacy/").content.decode()


def test_it_closes_the_gaps_the_seed_policy_left(client):
    html = client.get("/privacy/", headers={"accept-language": "en"}).content.decode()
    # Rights and how to exercise them, with the request form (PC-02).
    assert 'href="/dsar/"' in section(html, 6)
    # Overseas transfers of GA and Meta, with the country (AP-04); Stibee stays in Korea.
    overseas = re.search(r'id="s3-3".*?id="s3-4"', html, re.S).group(0)
    assert "Google Analytics" in overseas and "Meta" in overseas and "USA" in overseas
    assert "Stibee" not in overseas
    # Items kept under which law (RD-05): the visit-log items under the Communications Secrets Act.
    kept = re.search(r'id="s4-2".*?id="s4-3"', html, re.S).group(0)
    assert "Protection of Communications Secrets Act" in kept and "IP address" in kept
    # Automatic collection and how to refuse cookies, with the preferences page (CM-10).
    cookies = section(html, 1)
    assert "How to refuse cookies" in cookies and "data-open-cookie-settings" in cookies
    assert '<script src="/consent/banner.js" data-lang="en" defer>' in html
    # YouTube disclosures and links (PV-08).
    youtube = section(html, 3)
    for link in (
        "https://www.youtube.com/t/terms",
        "https://policies.google.com/privacy",
        "https://security.google.com/settings/security/permissions",
    ):
        assert f'href="{link}"' in youtube


def test_section_one_lists_the_categories_and_sources_from_the_registry(client):
    from subjects.registry import registry

    html = client.get("/privacy/", headers={"accept-language": "en"}).content.decode()
    collected = section(html, 1)
    for entry in registry.entries():
        from subjects.registry import DataCategory

        assert str(DataCategory(entry.category).label).replace("'", "&#x27;") in collected
    assert "Offline events and seminars" in collected  # a collection source (policy 1.2.2)


def test_an_edited_institution_waits_for_a_version_that_states_it(client):
    """PC-04: the page states what was announced; the edit is in the draft until then."""
    from policy.models import ComplaintInstitution
    from policy.services import draft_changes

    ComplaintInstitution.objects.filter(phone="118").update(phone="118-1")
    assert "118-1" not in section(client.get("/privacy/").content.decode(), 6)
    assert any("118-1" in line for change in draft_changes() for line in change["lines"])


def test_it_answers_only_get_and_head(client):
    assert client.post("/privacy/").status_code == 405
    assert client.head("/privacy/").status_code == 200


# Proper names a Korean text keeps in Latin letters: companies, products, browsers, the officer's
# romanised name, named laws and standards, and the abbreviations Korean privacy policies write in
# Latin letters (IP 주소, ID, SNS, PC). Nothing else: no field name, no internal code, no English word.
LATIN_ALLOWED = [
    "YouTube Data API",
    "YouTube API",
    "Google Analytics",
    "Google API",
    "Google",
    "YouTube",
    "Meta",
    "Stibee",
    "Chrome",
    "Edge",
    "Safari",
    "Firefox",
    "Jongkeun Lee",
    "GDPR",
    "III.E.4",
    "AES",
    "SNS",
    "GPC",
    "API",
    "IP",
    "ID",
    "PC",
]
URL_OR_EMAIL = re.compile(r"https?://\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\b(?:[a-z0-9-]+\.)+(?:kr|com|xyz|org)\b")
SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
# "subjects.VisitLog", "thirdparty.OAuthGrant.access_token": a model or field label.
MODEL_LABEL = re.compile(r"\b[a-z]+\.[A-Z][A-Za-z]+\b")
HANGUL = re.compile(r"[\uac00-\ud7a3]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def korean_document_lines(facts=None) -> list[str]:
    from django.utils.html import strip_tags

    from policy.content import collect_policy_facts
    from policy.services import render_policy_document

    document = render_policy_document(facts=facts or collect_policy_facts(), version=None, language="ko")
    text = html_module.unescape(strip_tags(re.sub(r"</(?:p|li|tr|td|th|h\d|dd|dt|caption)>|<br>", "\n", document)))
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def english_left(line: str) -> str:
    line = URL_OR_EMAIL.sub("", line)
    for name in LATIN_ALLOWED:
        line = re.sub(rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])", "", line)
    return line


def offending_lines(lines: list[str]) -> list[str]:
    """Lines with a field name, a model label, or any Latin word that is not an allowed name,
    whether or not the rest of the line is Korean ("고지문 SHA-256" is caught too)."""
    offending = []
    for line in lines:
        bare = URL_OR_EMAIL.sub("", line)
        if SNAKE_CASE.search(bare) or MODEL_LABEL.search(bare) or LATIN_WORD.search(english_left(line)):
            offending.append(line)
    return offending


# One line of each section the scan must cover (issue 17 point 4: items by purpose, the
# protection measures, the rights, their limits, agents and legal representatives, objections).
KOREAN_SECTIONS = [
    "목적별 수집 항목",
    "선택(동의한 경우)",
    "법령에 따라 회사가 보관해야 하는 기록",
    "회사 시스템이 적용하는 기술적 조치",
    "법률에 따른 권리 행사의 제한",
    "대리인과 법정대리인",
    "이의제기 방법",
]


def test_the_korean_policy_has_no_english_sentence_and_no_internal_identifier():
    """PC-01, PC-02: every line of the Korean document a person reads is Korean, apart from the
    allow-listed proper names; no field name (snake_case), model label or English word shows
    anywhere, including the items by purpose, section 5 and the rights of section 6."""
    lines = korean_document_lines()
    text = "\n".join(lines)
    for heading in KOREAN_SECTIONS:
        assert heading in text
    assert offending_lines(lines) == []


def test_the_korean_scan_also_covers_the_conditional_texts(settings):
    """The texts shown only in some configurations: Meta as a recipient (provision), the optional
    rights (DSAR-09) when enabled, and the access log kept for days rather than years."""
    from thirdparty.models import Processor

    Processor.objects.filter(name="Meta").update(kind="provision")
    settings.DSAR_OPTIONAL_REQUEST_TYPES = ["portability", "automated_decision"]
    settings.AUDIT_ACCESS_LOG_RETENTION_DAYS = 200
    lines = korean_document_lines()
    text = "\n".join(lines)
    assert "제3자 제공" in text and "제35조의2" in text and "제37조의2" in text and "200일간" in text
    assert offending_lines(lines) == []


def test_the_scan_catches_an_english_row_and_a_field_name():
    from retention.models import RetentionRule

    RetentionRule.objects.filter(key="visit_logs").update(
        public_name_ko="Service visit logs", law_article="kept per visited_at"
    )
    lines = korean_document_lines()
    assert any(SNAKE_CASE.search(line) for line in lines)
    assert "Service visit logs" in "\n".join(offending_lines(lines))


def test_the_scan_catches_an_internal_label_inside_a_korean_line():
    """The old items list showed "고지문 SHA-256" in a Korean line: a staff label the line-level
    Hangul test let through. A Latin word that is not an allowed name is caught anywhere."""
    from policy.models import CollectedItem

    CollectedItem.objects.filter(category="consent_records").update(items_ko="동의 기록(고지문 SHA-256, ended_at)")
    offending = offending_lines(korean_document_lines())
    assert any("SHA-256" in line for line in offending)


def test_the_youtube_text_claims_no_consent_by_connecting():
    """PV-08: the Korean text no longer says connecting an account counts as agreeing."""
    text = " ".join(korean_document_lines())
    assert "동의하게 되며" not in text and "요청한 경우에만 계정을 연결합니다" in text
