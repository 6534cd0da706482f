from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.management import call_command

from dsar import jobs, services
from dsar.admin import days_left_badge
from dsar.models import DataSubjectRequest, EventKind, RequestStatus

pytestmark = pytest.mark.django_db

SEOUL = ZoneInfo("Asia/Seoul")


def seoul(*args) -> datetime:
    return datetime(*args, tzinfo=SEOUL)


def test_the_due_date_is_ten_calendar_days_after_receipt_in_seoul(submit):
    # 23:30 in Seoul is still the 1st there (14:30 UTC); the clock counts Seoul days.
    with time_machine.travel(seoul(2026, 3, 1, 23, 30)):
        request = submit()
    assert request.due_on == date(2026, 3, 11)
    with time_machine.travel(seoul(2026, 3, 2, 0, 30)):
        assert submit("b@example.com").due_on == date(2026, 3, 12)


def test_a_staff_entered_request_runs_from_when_the_company_received_it(officer):
    request = services.record_staff_request(
        actor=officer,
        channel="letter",
        request_type="access",
        name="Alice Kim",
        received_at=seoul(2026, 3, 1, 10, 0),
    )
    assert request.due_on == date(2026, 3, 11)


@pytest.fixture
def assigned(verified, support):
    with time_machine.travel(seoul(2026, 3, 1, 10, 0)):
        request = verified()
    services.assign_request(request=request, assignee=support, actor=support)
    return DataSubjectRequest.objects.get(pk=request.pk)


def test_the_assignee_is_reminded_once_on_day_seven(assigned, mailoutbox, officer, committed):
    mailoutbox.clear()
    with time_machine.travel(seoul(2026, 3, 7, 9, 0)), committed():
        assert jobs.send_dsar_reminders().assignee_reminders == 0
    with time_machine.travel(seoul(2026, 3, 8, 9, 0)), committed():
        assert jobs.send_dsar_reminders().assignee_reminders == 1
    with time_machine.travel(seoul(2026, 3, 9, 9, 0)), committed():
        assert jobs.send_dsar_reminders().assignee_reminders == 0
    assert [m.to for m in mailoutbox] == [["support@pltt.xyz"]]
    assert assigned.reference in mailoutbox[0].subject
    assert "/admin/dsar/datasubjectrequest/" in mailoutbox[0].body


def test_an_unassigned_request_on_day_seven_goes_to_the_privacy_officers(
    verified, mailoutbox, officer, support, committed
):
    with time_machine.travel(seoul(2026, 3, 1, 10, 0)):
        verified()
    mailoutbox.clear()
    with time_machine.travel(seoul(2026, 3, 8, 9, 0)), committed():
        jobs.send_dsar_reminders()
    assert [m.to for m in mailoutbox] == [["officer@pltt.xyz"]]


def test_overdue_requests_go_to_every_privacy_officer_daily_and_not_to_other_staff(
    assigned, mailoutbox, officer, support, marketer, committed
):
    # A non-superuser officer: the role is the two permissions, not the superuser flag.
    marketer.user_permissions.add(
        Permission.objects.get(codename="oversee_requests"),
        Permission.objects.get(codename="change_datasubjectrequest"),
    )
    support.user_permissions.add(Permission.objects.get(codename="change_datasubjectrequest"))
    with time_machine.travel(seoul(2026, 3, 11, 9, 0)), committed():
        jobs.send_dsar_reminders()  # due today: the day-7 reminder (late), not overdue
    mailoutbox.clear()
    with time_machine.travel(seoul(2026, 3, 12, 9, 0)):
        with committed():
            result = jobs.send_dsar_reminders()
        with committed():
            assert jobs.send_dsar_reminders().officer_emails == 0  # once a day
    assert result.overdue_requests == 1
    assert sorted(m.to[0] for m in mailoutbox) == ["marketer@pltt.xyz", "officer@pltt.xyz"]
    assert assigned.reference in mailoutbox[0].body and "경과 일수: 1" in mailoutbox[0].body
    mailoutbox.clear()
    with time_machine.travel(seoul(2026, 3, 13, 9, 0)), committed():
        jobs.send_dsar_reminders()
    assert len(mailoutbox) == 2 and "경과 일수: 2" in mailoutbox[0].body
    assert DataSubjectRequest.objects.get(pk=assigned.pk).events.filter(kind=EventKind.REMINDER_SENT).count() == 3


def test_the_command_has_a_dry_run_that_sends_nothing(assigned, mailoutbox, capsys):
    mailoutbox.clear()
    with time_machine.travel(seoul(2026, 3, 12, 9, 0)):
        call_command("send_dsar_reminders", "--dry-run")
    assert mailoutbox == []
    assert "overdue requests: 1" in capsys.readouterr().out


def test_closed_requests_get_no_reminders(assigned, mailoutbox, officer, committed):
    services.reject_request(request=assigned, actor=officer, ground="38-1")
    mailoutbox.clear()
    with time_machine.travel(seoul(2026, 3, 20, 9, 0)), committed():
        result = jobs.send_dsar_reminders()
    assert (result.assignee_reminders, result.overdue_requests, mailoutbox) == (0, 0, [])


def test_a_gdpr_extension_needs_a_reason_tells_the_requester_and_rearms_the_reminders(
    assigned, mailoutbox, support, officer, committed
):
    """DSAR-10: a request marked as under the GDPR runs on one month, extended by up to two with notice."""
    services.mark_gdpr_overlay(request=assigned, actor=officer, applies=True, note="Resident in Germany.")
    request = DataSubjectRequest.objects.get(pk=assigned.pk)
    assert (request.original_due_on, request.due_on) == (date(2026, 4, 1), date(2026, 4, 1))
    with pytest.raises(services.RequestError, match="reason"):
        services.extend_deadline(request=assigned, actor=support, months=1, reason=" ")
    with pytest.raises(services.RequestError, match="at most 2"):
        services.extend_deadline(request=assigned, actor=support, months=3, reason="Many requests at once.")
    with time_machine.travel(seoul(2026, 3, 25, 9, 0)), committed():
        jobs.send_dsar_reminders()
    mailoutbox.clear()
    with time_machine.travel(seoul(2026, 3, 26, 9, 0)), committed():
        services.extend_deadline(
            request=assigned, actor=support, months=1, reason="The records are in an archive we must retrieve."
        )
    request = DataSubjectRequest.objects.get(pk=assigned.pk)
    assert request.due_on == date(2026, 5, 1)
    notice = mailoutbox[0]
    assert notice.to == ["alice@example.com"]
    assert "2026-05-01" in notice.body and "2026-04-01" in notice.body
    assert "archive we must retrieve" in notice.body
    event = request.events.get(kind=EventKind.EXTENDED)
    assert event.data["to"] == "2026-05-01" and event.actor == support
    with time_machine.travel(seoul(2026, 4, 2, 9, 0)):
        with pytest.raises(services.RequestError, match="first month"):
            services.extend_deadline(request=assigned, actor=support, months=1, reason="Still in the archive.")
    mailoutbox.clear()
    with time_machine.travel(seoul(2026, 4, 2, 9, 0)), committed():
        assert jobs.send_dsar_reminders().overdue_requests == 0


@pytest.mark.parametrize(
    ("today", "css", "text"),
    [
        (date(2026, 3, 1), "on-track", "10 days left"),
        (date(2026, 3, 6), "on-track", "5 days left"),
        (date(2026, 3, 7), "at-risk", "4 days left"),
        (date(2026, 3, 11), "at-risk", "0 days left"),
        (date(2026, 3, 12), "overdue", "1 days overdue"),
    ],
)
def test_days_left_are_shown_in_colour(assigned, today, css, text):
    from django.utils import translation

    with translation.override("en"):
        html = days_left_badge(assigned, today)
    assert css in html and text in html


def test_the_admin_list_shows_days_left_in_colour(assigned, admin_login, officer):
    with time_machine.travel(seoul(2026, 3, 12, 9, 0)):
        response = admin_login(officer).get("/admin/dsar/datasubjectrequest/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert b"dsar-days overdue" in response.content
    assert assigned.status == RequestStatus.VERIFIED
