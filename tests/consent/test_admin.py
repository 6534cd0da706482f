from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from consent import services

pytestmark = pytest.mark.django_db
SEOUL = ZoneInfo("Asia/Seoul")


@pytest.fixture
def history(alice, bob):
    services.grant_consent(
        subject=alice,
        purpose="marketing",
        channel="web_form",
        notice_text="News?",
        ip="203.0.113.5",
        at=datetime(2026, 3, 3, 9, tzinfo=SEOUL),
    )
    services.withdraw_consent(
        subject=alice, purpose="marketing", channel="email_link", at=datetime(2026, 4, 4, 9, tzinfo=SEOUL)
    )
    services.grant_consent(
        subject=bob, purpose="marketing", channel="web_form", at=datetime(2026, 4, 5, 9, tzinfo=SEOUL)
    )


def test_the_ledger_is_read_only_in_the_admin(admin_login, officer, history):
    client = admin_login(officer)
    listing = client.get("/admin/consent/consentevent/")
    # Each row names its person (issue 19: a name, not "subject #1").
    html = listing.content.decode()
    assert listing.status_code == 200 and "Alice Kim" in html and "subject #" not in html
    assert client.get("/admin/consent/consentevent/add/").status_code == 403
    from consent.models import ConsentEvent

    event = ConsentEvent.objects.first()
    assert client.post(f"/admin/consent/consentevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/consent/consentevent/{event.pk}/change/", {"channel": "import"}).status_code == 403
    assert ConsentEvent.objects.count() == 3


def test_the_ledger_filters_by_purpose_channel_and_date(admin_login, officer, history):
    client = admin_login(officer)
    html = client.get("/admin/consent/consentevent/?channel__exact=email_link").content.decode()
    assert html.count('class="field-action"') == 1
    assert client.get("/admin/consent/consentevent/?occurred_at__year=2026&occurred_at__month=4").status_code == 200


def test_a_subjects_consent_history_downloads_as_a_csv_receipt_with_a_logged_reason(
    admin_login, officer, alice, history
):
    from audit.models import AccessLog

    client = admin_login(officer)
    url = f"/admin/consent/consentevent/receipt/{alice.pk}/"
    assert "reason" in client.get(url).content.decode()
    refused = client.post(url, {"reason": ""})
    assert refused.status_code == 200 and not refused["Content-Type"].startswith("text/csv")
    response = client.post(url, {"reason": "DSAR R-2026-0042 receipt"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    log = AccessLog.objects.filter(action="download").get()
    assert log.reason == "DSAR R-2026-0042 receipt" and log.subject_count == 1
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["occurred_at_seoul"], r["action"], r["channel"]) for r in rows] == [
        ("2026-03-03T09:00:00+09:00", "granted", "web_form"),
        ("2026-04-04T09:00:00+09:00", "withdrawn", "email_link"),
    ]
    assert rows[0]["ip"] == "203.0.113.5" and len(rows[0]["notice_sha256"]) == 64
    # The words beside the codes, in the admin's language: what the person reading it understands.
    assert (rows[1]["action_label"], rows[1]["channel_label"]) == ("철회", "이메일의 링크")
    assert rows[0]["purpose_name_ko"] and rows[0]["purpose_name"] != rows[0]["purpose"]


def test_marketing_staff_cannot_download_a_receipt(admin_login, marketer, alice, history):
    client = admin_login(marketer)
    assert client.post(f"/admin/consent/consentevent/receipt/{alice.pk}/", {"reason": "curious"}).status_code == 403


def test_consent_rates_per_purpose_show_as_a_chart(admin_login, officer, history):
    import time_machine

    with time_machine.travel(datetime(2026, 4, 20, tzinfo=SEOUL)):
        response = admin_login(officer).get("/admin/consent/purpose/rates/")
    assert response.status_code == 200
    report = {row["purpose"].key: row for row in response.context["report"]}
    april = next(m for m in report["marketing"]["months"] if m["month"] == "2026-04")
    assert (april["granted"], april["withdrawn"], april["grant_percent"]) == (1, 1, 50)
    assert report["marketing"]["holding"] == 1
    assert 'class="bar granted"' in response.content.decode()
