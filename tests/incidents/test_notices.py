"""Breach notices to people (PIPA art. 34(1), Decree art. 39): what they say, who gets them by
which channel, the delivery records, retries, and when an incident counts as notified."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from werkzeug import Response

from incidents import notices, posting
from incidents.models import IncidentNotice, IncidentPosting, IncidentStatus, NoticeChannel, NoticeStatus
from privacyops.lib.actors import SYSTEM

from .notice_helpers import add_people, make_incident

SEOUL = ZoneInfo("Asia/Seoul")
AWARE = datetime(2026, 3, 2, 9, 0, tzinfo=SEOUL)


def test_the_preview_says_every_item_of_decree_article_39_in_korean_and_english(db):
    incident = make_incident(aware_at=AWARE)
    korean, english = notices.preview_incident_notices(incident=incident)
    assert korean.language == "ko" and english.language == "en"
    assert "개인정보 유출" in korean.subject and "personal data breach" in english.subject
    for text in (korean.body, english.body, korean.sms, english.sms):
        assert "email address" in text  # what leaked, as the officer wrote it
        assert "bucket" in text  # when and how
        assert "Access to exports now needs a signed" in text  # what the company does
        assert "118" in text  # KISA's report centre, from the policy's institutions
        assert incident.reference in text
    assert "출처가 불분명한 메일" in korean.body and "Do not click links" in english.body
    # The officer of the policy page, and the legal rights.
    assert "개인정보 보호책임자" in korean.body or "보호책임자" in korean.body
    assert "Privacy officer:" in english.body
    assert "statutory damages" in english.body and "mediation" in english.body
    assert "법정손해배상" in korean.body and "분쟁조정" in korean.body
    assert "Privacy officer:" not in korean.body  # every line of the Korean notice is Korean


def test_sending_is_refused_while_the_notice_lacks_what_people_can_do(db, officer):
    incident = make_incident(aware_at=AWARE, what_person_can_do_ko="", what_person_can_do_en="")
    add_people(incident, with_email=2)
    with pytest.raises(notices.NoticeError, match="피해를 최소화"):
        notices.queue_incident_notices(incident=incident, actor=officer)
    assert not IncidentNotice.objects.exists()


def test_staff_without_the_incident_permission_cannot_send(db, support):
    incident = make_incident(aware_at=AWARE)
    add_people(incident, with_email=1)
    with pytest.raises(notices.NoticeError):
        notices.queue_incident_notices(incident=incident, actor=support)


def test_twenty_people_and_no_trigger_are_notified_within_72_hours_with_no_posting(db, officer, mailoutbox):
    incident = make_incident(aware_at=AWARE)
    add_people(incident, with_email=20, english=3)
    assert incident.report_by is None and not posting.posting_trigger_holds(incident)

    with time_machine.travel(AWARE + timedelta(hours=5), tick=False):
        plan = notices.plan_incident_notices(incident=incident)
        assert (plan.email, plan.sms, plan.no_contact) == (20, 0, 0)
        notices.queue_incident_notices(incident=incident, actor=officer)
    with time_machine.travel(AWARE + timedelta(hours=5, minutes=5), tick=False):
        run = notices.send_incident_notices()

    assert run.sent == 20 and len(mailoutbox) == 20
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        p.subject.email for p in incident.affected_people.select_related("subject")
    )
    english = [m for m in mailoutbox if "personal data breach" in m.subject]
    assert len(english) == 3  # the person's language where known, else Korean
    assert all(n.status == NoticeStatus.SENT and n.sent_at and len(n.body_sha256) == 64 for n in incident.notices.all())
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.NOTIFIED
    assert incident.notified_at < incident.notify_by
    assert not IncidentPosting.objects.exists()


def test_twenty_people_two_without_contact_get_a_posting_and_count_as_notified(db, officer, mailoutbox, client):
    incident = make_incident(aware_at=AWARE)
    add_people(incident, with_email=18, unreachable=2)
    with time_machine.travel(AWARE + timedelta(hours=2), tick=False):
        plan = notices.queue_incident_notices(incident=incident, actor=officer)
        assert (plan.email, plan.no_contact) == (18, 2)
        notices.send_incident_notices()
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.NOTIFIED
    assert IncidentPosting.objects.get(incident=incident).live


def test_a_thousand_two_hundred_people_are_all_notified_and_the_posting_stays_30_days(db, officer, mailoutbox, client):
    incident = make_incident(aware_at=AWARE)
    add_people(incident, with_email=1200)
    assert incident.report_by == AWARE + timedelta(hours=72)

    with time_machine.travel(AWARE + timedelta(hours=10), tick=False):
        notices.queue_incident_notices(incident=incident, actor=officer)
        run = notices.send_incident_notices(batch_size=200)
    assert run.sent == 1200 and run.batches == 6 and len(mailoutbox) == 1200
    assert IncidentNotice.objects.filter(incident=incident, status=NoticeStatus.SENT).count() == 1200
    assert len({m.to[0] for m in mailoutbox}) == 1200  # once each
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.NOTIFIED

    page = IncidentPosting.objects.get(incident=incident)
    assert client.get(f"/privacy/incidents/{page.slug}/").status_code == 200
    with time_machine.travel(AWARE + timedelta(days=29, hours=23), tick=False):
        with pytest.raises(posting.PostingError, match="30일 이상 게시해야"):
            posting.take_down_posting(posting=page, actor=officer)
    page.refresh_from_db()
    assert page.live and client.get(f"/privacy/incidents/{page.slug}/").status_code == 200
    with time_machine.travel(AWARE + timedelta(days=30, hours=11), tick=False):
        posting.take_down_posting(posting=page, actor=officer)
    assert client.get(f"/privacy/incidents/{page.slug}/").status_code == 404


@pytest.fixture
def gateway(settings, httpserver):
    settings.SMS_GATEWAY_URL = httpserver.url_for("/messages")
    settings.SMS_GATEWAY_API_KEY = "sms-secret-key"
    settings.SMS_SENDER_NUMBER = "0212345678"
    settings.SMS_GATEWAY_TIMEOUT_SECONDS = 2
    settings.INCIDENT_NOTICE_RETRY_BASE_SECONDS = 120
    return httpserver


def test_people_without_email_get_an_sms_and_a_gateway_500_is_retried(db, officer, mailoutbox, gateway):
    incident = make_incident(aware_at=AWARE)
    add_people(incident, with_email=1, phone_only=2)
    phones = sorted(incident.affected_people.exclude(phone="").values_list("phone", flat=True))
    key = {"Authorization": "Bearer sms-secret-key"}
    gateway.expect_ordered_request("/messages", method="POST", headers=key).respond_with_response(
        Response("down", status=500)
    )
    gateway.expect_ordered_request("/messages", method="POST", headers=key).respond_with_json({"id": "a"})

    with time_machine.travel(AWARE + timedelta(hours=1), tick=False):
        plan = notices.queue_incident_notices(incident=incident, actor=officer)
        assert (plan.email, plan.sms) == (1, 2)
        first = notices.send_incident_notices()
    assert (first.sent, first.failed) == (2, 1) and first.errors == {"HTTP 500": 1}
    failed = IncidentNotice.objects.get(status=NoticeStatus.FAILED)
    assert failed.channel == NoticeChannel.SMS and failed.attempts == 1
    assert failed.next_attempt_at == AWARE + timedelta(hours=1, minutes=2)  # backoff: 120 s

    gateway.expect_ordered_request("/messages", method="POST", headers=key).respond_with_json({"id": "b"})
    with time_machine.travel(AWARE + timedelta(hours=1, minutes=1), tick=False):
        assert notices.send_incident_notices().sent == 0  # not yet due
    with time_machine.travel(AWARE + timedelta(hours=1, minutes=3), tick=False):
        assert notices.send_incident_notices().sent == 1
    gateway.check_assertions()

    bodies = [request.get_json() for request, _ in gateway.log]
    assert sorted({b["to"] for b in bodies}) == phones
    assert {b["from"] for b in bodies} == {"0212345678"}
    assert all("개인정보 유출" in b["text"] and incident.reference in b["text"] for b in bodies)
    failed.refresh_from_db()
    assert failed.status == NoticeStatus.SENT and failed.attempts == 2
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.NOTIFIED and len(mailoutbox) == 1


def test_the_command_sends_the_due_notices(db, officer, mailoutbox, capsys):
    incident = make_incident(aware_at=AWARE)
    add_people(incident, with_email=3)
    notices.queue_incident_notices(incident=incident, actor=SYSTEM)
    call_command("send_incident_notices", "--dry-run")
    assert "Would send 3 due notice(s)." in capsys.readouterr().out
    call_command("send_incident_notices")
    assert "3 sent, 0 failed" in capsys.readouterr().out and len(mailoutbox) == 3
