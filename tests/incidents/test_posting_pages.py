"""The public breach notice (PIPA art. 34(3)): under /privacy/incidents/, linked from the policy
page, in Korean and English, with nobody's personal data, and gone once taken down."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone

from incidents import notices, posting
from incidents.models import IncidentPosting

from .notice_helpers import add_people, make_incident


def test_a_posting_is_public_linked_from_the_policy_page_and_names_nobody(db, officer, client, mailoutbox):
    incident = make_incident(aware_at=timezone.now() - timedelta(hours=3), title="Bucket of INTERNAL-SYSTEM-X")
    add_people(incident, with_email=3, unreachable=1)
    notices.queue_incident_notices(incident=incident, actor=officer)
    page = IncidentPosting.objects.get(incident=incident)
    emails = [p.subject.email for p in incident.affected_people.select_related("subject") if p.subject.email]

    policy = client.get("/privacy/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "개인정보 유출 안내" in policy and f"/privacy/incidents/{page.slug}/" in policy

    listing = client.get("/privacy/incidents/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert f"/privacy/incidents/{page.slug}/" in listing

    korean = client.get(f"/privacy/incidents/{page.slug}/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    english = client.get(f"/privacy/incidents/{page.slug}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "유출된 개인정보 항목" in korean and "피해 신고 및 문의처" in korean and "법정손해배상" in korean
    assert "What personal data was leaked" in english and "statutory damages" in english
    assert "Do not click links" in english and "출처가 불분명한 메일" in korean
    for html in (korean, english, listing, policy):
        assert "INTERNAL-SYSTEM-X" not in html  # the register's own title stays inside
        assert not any(email in html for email in emails)


def test_without_a_posting_the_policy_page_shows_no_breach_notice(db, client):
    assert "개인정보 유출 안내" not in client.get("/privacy/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "현재 게시된 유출 안내가 없습니다" in client.get("/privacy/incidents/").content.decode()
    assert client.get("/privacy/incidents/no-such-notice/").status_code == 404


def test_a_posting_taken_down_after_30_days_leaves_the_policy_page(db, officer, client):
    incident = make_incident(aware_at=timezone.now() - timedelta(hours=1))
    page = posting.post_incident_notice(incident=incident, actor=officer)
    with time_machine.travel(page.removable_after + timedelta(minutes=1), tick=False):
        posting.take_down_posting(posting=page, actor=officer)
    assert f"/privacy/incidents/{page.slug}/" not in client.get("/privacy/").content.decode()
    assert client.get(f"/privacy/incidents/{page.slug}/").status_code == 404
    assert "현재 게시된 유출 안내가 없습니다" in client.get("/privacy/incidents/").content.decode()
