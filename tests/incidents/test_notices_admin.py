"""The officer previews the notice in both languages, sees who gets it by which channel, and sends."""

from __future__ import annotations

from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from incidents.models import IncidentNotice, NoticeChannel

from .notice_helpers import add_people, make_incident


def test_the_officer_previews_both_languages_and_confirms_how_many_by_which_channel(
    db, officer, admin_login, mailoutbox
):
    incident = make_incident(aware_at=timezone.now() - timedelta(hours=2))
    add_people(incident, with_email=4, phone_only=2, unreachable=1)
    client = admin_login(officer)

    # The changelist action leads to the confirmation page.
    answer = client.post(
        "/admin/incidents/incident/", {"action": "send_notices", "_selected_action": [incident.pk]}, follow=True
    )
    page = answer.content.decode()
    assert answer.redirect_chain[-1][0].endswith(f"/admin/incidents/incident/{incident.pk}/notices/")
    assert "이메일로 4명" in page and "문자로 2명" in page and "연락처 없음 1명" in page
    assert 'data-language="ko"' in page and 'data-language="en"' in page
    assert "Notice of a personal data breach" in page and "개인정보 유출 안내" in page
    assert not IncidentNotice.objects.exists()  # a preview sends nothing

    answer = client.post(f"/admin/incidents/incident/{incident.pk}/notices/", {"confirm": "send"})
    assert answer.status_code == 302
    assert IncidentNotice.objects.filter(channel=NoticeChannel.EMAIL).count() == 4
    assert IncidentNotice.objects.filter(channel=NoticeChannel.SMS).count() == 2
    call_command("send_incident_notices")  # what the worker does after the request
    assert len(mailoutbox) == 4


def test_support_staff_cannot_open_the_notices_page(db, support, admin_login):
    incident = make_incident(aware_at=timezone.now() - timedelta(hours=2))
    assert admin_login(support).get(f"/admin/incidents/incident/{incident.pk}/notices/").status_code in (302, 403)
