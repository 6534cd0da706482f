"""An answer that changes nothing writes no ledger row and sends no notice, from every door; the
same consent granted again near its 2-year anniversary is a re-confirmation, answered once."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from audit.models import ApiScope
from consent import banner, services
from consent.models import ConsentEvent, ConsentState, CookieConsentRecord, MarketingNotice

pytestmark = pytest.mark.django_db
SEOUL = ZoneInfo("Asia/Seoul")
SITE = "https://www.pltt.xyz"


def api_post(client, key, subject, **body):
    body = {"purpose": "marketing", "action": "grant", "channel": "web_form", "notice_text": "Newsletter v1", **body}
    return client.post(
        f"/api/consent/{subject.pk}", data=json.dumps(body), content_type="application/json", headers={"X-API-Key": key}
    )


def test_a_grant_repeated_through_the_api_writes_one_row_and_one_notice(
    client, api_key, alice, eager_tasks, django_capture_on_commit_callbacks
):
    key = api_key(ApiScope.CONSENT_WRITE)
    answers = []
    for _ in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            answers.append(api_post(client, key, alice))
    assert [r.status_code for r in answers] == [201, 200, 200, 200]
    assert [r.json()["recorded"] for r in answers] == [True, False, False, False]
    assert all(r.json()["granted"] for r in answers)
    assert ConsentEvent.objects.filter(subject=alice).count() == 1
    assert len(mail.outbox) == 1 and MarketingNotice.objects.filter(subject=alice).count() == 1


def test_a_withdrawal_or_refusal_repeated_through_the_api_writes_one_row(
    client, api_key, alice, eager_tasks, django_capture_on_commit_callbacks
):
    key = api_key(ApiScope.CONSENT_WRITE)
    with django_capture_on_commit_callbacks(execute=True):
        api_post(client, key, alice)
        first = api_post(client, key, alice, action="withdraw")
        second = api_post(client, key, alice, action="withdraw")
        refusal = api_post(client, key, alice, action="refuse")
    assert first.status_code == 201 and second.status_code == 200 and not second.json()["recorded"]
    assert refusal.status_code == 200 and not refusal.json()["recorded"]
    assert list(ConsentEvent.objects.filter(subject=alice).values_list("action", flat=True).order_by("pk")) == [
        "granted",
        "withdrawn",
    ]
    assert len(mail.outbox) == 2  # the consent and the withdrawal, nothing for the repeats


def test_changing_the_night_time_choice_is_a_change(client, api_key, alice):
    key = api_key(ApiScope.CONSENT_WRITE)
    api_post(client, key, alice)
    response = api_post(client, key, alice, night_time=True)
    assert response.status_code == 201
    assert ConsentState.objects.get(subject=alice, purpose__key="marketing").night_time


def test_a_grant_repeated_on_the_preference_page_writes_one_row_and_one_notice(
    client, bob, eager_tasks, django_capture_on_commit_callbacks
):
    path = services.preference_link(bob).removeprefix("http://127.0.0.1:8000")
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(path, {"purpose": "marketing", "action": "grant"}, follow=True)
    assert ConsentEvent.objects.filter(subject=bob).count() == 1
    assert len(mail.outbox) == 1
    # The person is told that nothing changed, in the page's language (Korean by default).
    assert "이미 기록되어 있어 바뀐 것이 없습니다" in response.content.decode()


def test_a_choice_repeated_on_the_banner_writes_one_record(client, settings):
    settings.CONSENT_ALLOWED_ORIGINS = [SITE]
    body = {
        "visitor_id": "0123456789abcdef0123456789abcdef",
        "banner_version": banner.banner_version(),
        "language": "ko",
        "choice": "allow_all",
        "categories": {},
        "gpc": False,
    }
    answers = []
    for minute in range(3):
        # The banner reopened and saved unchanged: each post is a new choice (its own chosen_at).
        chosen = {**body, "chosen_at": f"2026-12-01T10:0{minute}:00+09:00"}
        answers.append(
            client.post(
                "/api/consent/cookies", json.dumps(chosen), content_type="application/json", headers={"Origin": SITE}
            )
        )
    assert [r.status_code for r in answers] == [201, 200, 200]
    assert len({r.json()["id"] for r in answers}) == 1
    assert CookieConsentRecord.objects.count() == 1
    # A different answer is a new record; the same answer as every record but the last is too.
    custom = {**body, "choice": "custom", "categories": {"statistics": True}, "chosen_at": "2026-12-01T10:05:00+09:00"}
    assert (
        client.post(
            "/api/consent/cookies", json.dumps(custom), content_type="application/json", headers={"Origin": SITE}
        ).status_code
        == 201
    )
    again = {**body, "chosen_at": "2026-12-01T10:06:00+09:00"}
    assert (
        client.post(
            "/api/consent/cookies", json.dumps(again), content_type="application/json", headers={"Origin": SITE}
        ).status_code
        == 201
    )
    assert CookieConsentRecord.objects.count() == 3


def test_within_30_days_of_the_anniversary_a_grant_is_a_reconfirmation_answered_once(
    alice, eager_tasks, django_capture_on_commit_callbacks
):
    granted_at = datetime(2024, 6, 1, 10, tzinfo=SEOUL)
    services.grant_consent(subject=alice, purpose="marketing", channel="web_form", at=granted_at)
    mail.outbox.clear()
    # 40 days before the anniversary: the same consent stands, nothing changes.
    assert (
        services.grant_consent(
            subject=alice, purpose="marketing", channel="web_form", at=granted_at + timedelta(days=690)
        )
        is None
    )
    near = datetime(2026, 5, 10, 10, tzinfo=SEOUL)  # 22 days before
    with time_machine.travel(near, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            first = services.grant_consent(subject=alice, purpose="marketing", channel="preference_page")
            second = services.grant_consent(subject=alice, purpose="marketing", channel="preference_page")
    assert first.action == "reconfirmed" and second is None
    state = ConsentState.objects.get(subject=alice, purpose__key="marketing")
    assert state.reconfirm_due_at == datetime(2028, 5, 10, 10, tzinfo=SEOUL) and state.action == "reconfirmed"
    assert len(mail.outbox) == 1
    assert "re-confirmed" in mail.outbox[0].subject or "재확인" in mail.outbox[0].subject
    # The desk's monthly chart counts grants; a re-confirmation is not a new one.
    assert ConsentEvent.objects.filter(subject=alice, action="granted").count() == 1


def test_after_the_anniversary_passed_a_grant_is_a_new_consent(alice):
    services.grant_consent(
        subject=alice, purpose="marketing", channel="web_form", at=datetime(2024, 6, 1, tzinfo=SEOUL)
    )
    event = services.grant_consent(
        subject=alice, purpose="marketing", channel="web_form", at=datetime(2026, 6, 5, tzinfo=SEOUL)
    )
    assert event is not None and event.action == "granted"


def test_a_repeated_non_marketing_grant_changes_nothing(alice):
    assert services.grant_consent(subject=alice, purpose="third_party_integration", channel="web_form") is not None
    assert services.grant_consent(subject=alice, purpose="third_party_integration", channel="customer_service") is None
    assert ConsentEvent.objects.filter(subject=alice).count() == 1
