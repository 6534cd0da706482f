"""In a real browser: the officer signs in with password and TOTP, records a breach, sees its
72-hour countdown on the desk, finds the people affected with a saved registry query, previews the
notice in Korean and English and sends it; email to those with an address, SMS through a fake
gateway on 127.0.0.1 to the one without. Screenshots go to test-artifacts/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from incidents.models import Incident, IncidentNotice, IncidentStatus, NoticeStatus
from subjects.models import CollectionSource, DataSubject
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

PASSWORD = "Correct-Horse-42"


def test_the_officer_records_a_breach_finds_the_people_previews_and_sends_notices(
    live_server, browser_page, transactional_db, settings, httpserver
):
    settings.SMS_GATEWAY_URL = httpserver.url_for("/messages")
    settings.SMS_GATEWAY_API_KEY = "sms-secret-key"
    settings.SMS_SENDER_NUMBER = "0212345678"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    httpserver.expect_request(
        "/messages", method="POST", headers={"Authorization": "Bearer sms-secret-key"}
    ).respond_with_json({"id": "1"})
    user = get_user_model().objects.create_superuser(username="jongkeun", email="", password=PASSWORD)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    DataSubject.objects.create(name="Alice", email="alice@example.com", source=CollectionSource.CUSTOMER_SERVICE)
    DataSubject.objects.create(name="Bob", email="bob@example.com", source=CollectionSource.OFFLINE_EVENT)
    DataSubject.objects.create(name="Chul", phone="010-5555-6666", source=CollectionSource.OFFLINE_EVENT)
    page = browser_page
    url = live_server.url

    page.goto(f"{url}/admin/login/")
    page.fill("input[name=username]", "jongkeun")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=otp_token]", f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}")
    page.click("input[type=submit]")
    page.wait_for_selector("#officer-desk")

    # Record the incident: aware two hours ago.
    aware = timezone.localtime(timezone.now() - timedelta(hours=2))
    page.goto(f"{url}/admin/incidents/incident/add/")
    page.fill("input[name=title]", "Export bucket readable from outside")
    for name in ("discovered_at", "aware_at"):
        page.fill(f"input[name={name}_0]", aware.strftime("%Y-%m-%d"))
        page.fill(f"input[name={name}_1]", aware.strftime("%H:%M:%S"))
    page.select_option("select[name=discovery_method]", "monitoring")
    page.fill("textarea[name=description]", "An export file was readable through a misconfigured storage bucket.")
    page.check("input[name=data_categories][value=identity_contact]")
    page.fill("textarea[name=leaked_items]", "name, email address, phone number")
    page.fill("textarea[name=containment_measures]", "The bucket was closed and the file deleted.")
    page.fill("textarea[name=what_person_can_do_ko]", "출처가 불분명한 메일의 링크를 누르지 마세요.")
    page.fill("textarea[name=what_person_can_do_en]", "Do not click links in unexpected mail.")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    incident = Incident.objects.get()

    # The desk shows the 72-hour countdown.
    page.goto(f"{url}/admin/")
    desk = page.locator("#desk-incidents")
    assert incident.reference in desk.inner_text()
    assert "69시간" in desk.inner_text() or "70시간" in desk.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "incident_desk_countdown.png"), full_page=True)

    # Find the people affected with a saved registry query.
    page.goto(f"{url}/admin/incidents/incident/{incident.pk}/change/")
    page.click(f"a[href$='/admin/incidents/incident/{incident.pk}/affected/query/']")
    page.check("input[name=data_categories][value=identity_contact]")
    page.click("input[type=submit]")
    page.wait_for_selector(".messagelist .success")
    assert incident.affected_people.count() == 3

    # Preview both languages and the channels, then send.
    page.click(f"a[href$='/admin/incidents/incident/{incident.pk}/notices/']")
    page.wait_for_selector("#notice-plan")
    plan = page.locator("#notice-plan").inner_text()
    assert "이메일로 2명" in plan and "문자로 1명" in plan
    assert "개인정보 유출 안내" in page.locator(".notice-preview[data-language=ko]").inner_text()
    assert "Do not click links" in page.locator(".notice-preview[data-language=en]").inner_text()
    page.screenshot(path=str(ARTIFACTS / "incident_notice_preview.png"), full_page=True)
    page.click("form input[type=submit].default")
    page.wait_for_selector(".messagelist .success")

    call_command("send_incident_notices")  # what the worker (or the beat job) does next
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "bob@example.com"]
    assert [r.get_json()["to"] for r, _ in httpserver.log] == ["010-5555-6666"]
    assert IncidentNotice.objects.filter(status=NoticeStatus.SENT).count() == 3
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.NOTIFIED

    page.goto(f"{url}/admin/incidents/incident/{incident.pk}/change/")
    assert "통지" in page.locator("body").inner_text()
