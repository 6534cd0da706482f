"""Korean particles follow the final consonant of the name they follow (privacyops/lib/korean.py)."""

from __future__ import annotations

import pytest
from django.template import engines

from privacyops.lib.korean import resolve_particles, with_particle


@pytest.mark.parametrize(
    ("word", "pair", "expected"),
    [
        ("회사", "이/가", "회사가"),
        ("책임자", "은/는", "책임자는"),
        ("서울", "으로/로", "서울로"),  # ㄹ takes 로
        ("부산", "으로/로", "부산으로"),
        ("고객센터", "과/와", "고객센터와"),
        ("요청", "을/를", "요청을"),
        ("Palette Inc.", "이/가", "Palette Inc.가"),  # the "Palette Inc.이(가)"
        ("Google", "이/가", "Google이"),  # 구글
        ("Google Analytics", "은/는", "Google Analytics는"),
        ("Meta", "과/와", "Meta와"),
        ("Stibee", "을/를", "Stibee를"),
        ("Instagram", "을/를", "Instagram을"),
        ("KISA", "이/가", "KISA가"),
        ("PIPC", "은/는", "PIPC는"),
        ("GA", "으로/로", "GA로"),
        ("HTML", "으로/로", "HTML로"),  # 엘: ㄹ
        ("DSAR-2026-0007", "이/가", "DSAR-2026-0007이"),  # 칠
        ("DSAR-2026-0002", "이/가", "DSAR-2026-0002가"),  # 이
        ("DSAR-2026-0010", "을/를", "DSAR-2026-0010을"),  # 영 / 십
        ("“뉴스레터”", "을/를", "“뉴스레터”를"),
        ("★", "이/가", "★이(가)"),  # undecidable: the conventional double form stays
        ("★", "으로/로", "★(으)로"),
    ],
)
def test_the_particle_follows_the_final_sound(word, pair, expected):
    assert with_particle(word, pair) == expected


def test_double_forms_in_a_translated_sentence_are_resolved():
    text = "결과를 Palette Inc.이(가) 알려드립니다. 요구 DSAR-2026-0007이(가) 확인되었고 “광고”을(를) 받지 않습니다."
    assert resolve_particles(text) == (
        "결과를 Palette Inc.가 알려드립니다. 요구 DSAR-2026-0007이 확인되었고 “광고”를 받지 않습니다."
    )
    # A double form that follows no word, and English, are left as they are.
    assert resolve_particles("조사 이(가) 설명") == "조사 이(가) 설명"
    assert resolve_particles("Palette Inc. (Seoul)") == "Palette Inc. (Seoul)"


def test_the_template_filters():
    template = engines["django"].from_string(
        '{% load korean %}{{ name|particle:"은/는" }} / {% filter particles %}{{ name }}이(가) 보냅니다{% endfilter %}'
    )
    assert template.render({"name": "구글"}) == "구글은 / 구글이 보냅니다"
    # Escaping is kept.
    assert template.render({"name": "<b>Meta</b>"}).startswith("&lt;b&gt;Meta&lt;/b&gt;")


def test_the_korean_marketing_notice_names_the_sender_with_the_right_particle(
    alice, settings, django_capture_on_commit_callbacks
):
    from django.core import mail

    from consent import services
    from privacyops.celery import app

    settings.MARKETING_SENDER_NAME = "Palette Inc."
    previous, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.grant_consent(subject=alice, purpose="marketing", channel="web_form")
    finally:
        app.conf.task_always_eager = previous
    body = mail.outbox[0].body
    assert "Palette Inc.가 알려드립니다" in body and "(가)" not in body
