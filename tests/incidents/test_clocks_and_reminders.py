"""SA-08: the 72-hour clocks of a breach and the officer's reminders (PIPA art. 34(1), Decree art. 39-40)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from incidents import services
from incidents.models import EventKind, Incident, IncidentStatus
from subjects.models import DataSubject

SEOUL = ZoneInfo("Asia/Seoul")
AWARE = datetime(2025, 3, 3, 9, 0, tzinfo=SEOUL)


def _incident(officer, **fields) -> Incident:
    defaults = dict(
        title="Mailing list exposed",
        discovered_at=AWARE - timedelta(hours=2),
        discovery_method="monitoring",
        aware_at=AWARE,
        description="설정 오류로 명단이 공개되었습니다.",
        data_categories=["identity_contact"],
    )
    return services.record_incident(actor=officer, incident=Incident(**{**defaults, **fields}))


def _people(n: int) -> list[int]:
    DataSubject.objects.bulk_create(
        [DataSubject(name=f"P{i}", email=f"p{i}@example.com", source="website") for i in range(n)]
    )
    return list(DataSubject.objects.order_by("pk").values_list("pk", flat=True))


@pytest.mark.django_db
def test_an_incident_with_1200_people_must_be_reported_within_72_hours_and_reminds_at_24_48_66(officer):
    """SA-08: 1,200 affected -> report_by = aware_at + 72 h; reminders at 24/48/66 h, each once."""
    with time_machine.travel(AWARE + timedelta(hours=1), tick=False):
        incident = _incident(officer)
        _people(1200)
        query = services.save_affected_query(actor=officer, incident=incident, data_categories=["identity_contact"])
    assert query.added == 1200
    incident = Incident.objects.with_listed_count().get(pk=incident.pk)
    assert incident.affected_count == 1200 and incident.affected_count_source == "list"
    assert incident.report_by == AWARE + timedelta(hours=72)
    assert incident.notify_by == AWARE + timedelta(hours=72)

    sent = []
    for hours in (1, 23, 24, 25, 47, 48, 49, 66, 67, 71):
        mail.outbox.clear()
        with time_machine.travel(AWARE + timedelta(hours=hours, minutes=1), tick=False):
            services.send_incident_reminders()
        if mail.outbox:
            sent.append(hours)
            assert "officer@pltt.xyz" in mail.outbox[0].to
            assert incident.reference in mail.outbox[0].subject
    assert sent == [24, 48, 66]
    reminders = incident.events.filter(kind=EventKind.REMINDER)
    assert sorted(reminders.values_list("hours", flat=True)) == [24, 48, 66]


@pytest.mark.django_db
def test_a_run_started_late_sends_one_mail_and_records_each_missed_reminder_once(officer):
    """SA-08: a beat outage does not send three mails at once, nor any reminder twice."""
    with time_machine.travel(AWARE, tick=False):
        incident = _incident(officer, affected_count_estimate=1500)
    with time_machine.travel(AWARE + timedelta(hours=50), tick=False):
        run = services.send_incident_reminders()
        again = services.send_incident_reminders()
    assert (run.reminders, run.mails) == (2, 1) and again.reminders == 0
    assert len(mail.outbox) == 1
    assert incident.events.filter(kind=EventKind.REMINDER).count() == 2


@pytest.mark.django_db
def test_twenty_people_without_a_trigger_need_no_report_but_a_notice_within_72_hours(officer):
    """SA-08: no Decree art. 40(1) trigger -> report_by is None; notify_by still runs."""
    with time_machine.travel(AWARE, tick=False):
        incident = _incident(officer)
        _people(20)
        services.save_affected_query(actor=officer, incident=incident, data_categories=["identity_contact"])
    incident = Incident.objects.with_listed_count().get(pk=incident.pk)
    assert incident.affected_count == 20
    assert incident.report_by is None and not incident.report_required
    assert incident.notify_by == AWARE + timedelta(hours=72)


@pytest.mark.django_db
def test_sensitive_data_or_outside_access_alone_make_the_report_mandatory(officer):
    """SA-08: Decree art. 40(1)2 and 3 hold whatever the number of people."""
    with time_machine.travel(AWARE, tick=False):
        sensitive = _incident(officer, sensitive_or_unique_ids=True)
        hacked = _incident(officer, title="Intrusion", outside_unauthorised_access=True)
    assert sensitive.report_by == AWARE + timedelta(hours=72)
    assert hacked.report_by == AWARE + timedelta(hours=72)


@pytest.mark.django_db
def test_a_late_notice_or_report_needs_a_reason_from_the_decree_and_the_report_shows_it(officer, admin_login):
    """SA-08: after 72 hours the notice and the report need a recorded delay reason."""
    with time_machine.travel(AWARE, tick=False):
        incident = _incident(officer, outside_unauthorised_access=True)
    with time_machine.travel(AWARE + timedelta(hours=80), tick=False):
        with pytest.raises(services.IncidentError):
            services.mark_notified(actor=officer, incident=incident)
        with pytest.raises(services.IncidentError):
            services.record_report_submission(actor=officer, incident=incident, authority="kisa", reference="K-1")
        services.mark_notified(actor=officer, incident=incident, delay_reason="urgent_containment")
        incident = services.record_report_submission(
            actor=officer, incident=incident, authority="kisa", reference="K-2025-0042", delay_reason="details_unknown"
        )
    assert incident.status == IncidentStatus.REPORTED
    event = incident.events.get(kind=EventKind.REPORTED)
    assert event.actor == officer and event.reference == "K-2025-0042"
    page = admin_login(officer).get(f"/admin/incidents/incident/{incident.pk}/report/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "K-2025-0042" in html and 'id="report-delay"' in html and 'id="notify-delay"' in html


@pytest.mark.django_db
def test_a_notice_on_time_needs_no_reason(officer):
    """SA-08: within 72 hours no delay reason is asked or kept."""
    with time_machine.travel(AWARE, tick=False):
        incident = _incident(officer)
    with time_machine.travel(AWARE + timedelta(hours=10), tick=False):
        incident = services.mark_notified(actor=officer, incident=incident, delay_reason="urgent_containment")
    assert incident.status == IncidentStatus.NOTIFIED and incident.notify_delay_reason == ""


@pytest.mark.django_db
def test_the_command_is_the_same_job(officer, capsys):
    """SA-08: manage.py send_incident_reminders sends the due reminder."""
    with time_machine.travel(AWARE, tick=False):
        _incident(officer, sensitive_or_unique_ids=True)
    with time_machine.travel(AWARE + timedelta(hours=24, minutes=5), tick=False):
        call_command("send_incident_reminders")
    assert "1 reminder(s) sent" in capsys.readouterr().out
    assert len(mail.outbox) == 1
