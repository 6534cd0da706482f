"""The admin index is the privacy officer's desk: what needs attention, without personal data."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from dsar import services as dsar_services
from dsar.models import AT_RISK_DAYS
from thirdparty.models import JOB_LATE_AFTER_DAYS, JobStatus, Processor, VendorErasureJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def overdue_request(officer):
    eleven_days_ago = timezone.now() - timedelta(days=11)
    return dsar_services.record_staff_request(
        actor=officer, channel="phone", request_type="access", name="Alice Kim", received_at=eleven_days_ago
    )


@pytest.fixture
def failing_job():
    return VendorErasureJob.objects.create(
        processor=Processor.objects.get(name="Stibee"),
        reference="DSAR-TEST",
        channel="api",
        status=JobStatus.FAILED,
        attempts=4,
    )


def test_the_officer_sees_an_overdue_request_in_red_and_a_failing_job(
    admin_login, officer, overdue_request, failing_job
):
    page = admin_login(officer).get("/admin/").content.decode()
    assert 'id="officer-desk"' in page
    assert overdue_request.reference in page
    row = page[page.index(overdue_request.reference) :]
    assert 'class="overdue"' in row[: row.index("</tr>")]
    assert "DSAR-TEST" in page and 'id="desk-jobs"' in page
    # No personal data on the desk: it is not an access to anyone's records.
    assert "Alice Kim" not in page


def test_a_request_due_soon_is_amber_and_one_with_time_is_green(admin_login, officer):
    now = timezone.now()
    soon = dsar_services.record_staff_request(
        actor=officer, channel="email", request_type="access", name="A", received_at=now - timedelta(days=7)
    )
    later = dsar_services.record_staff_request(
        actor=officer, channel="email", request_type="access", name="B", received_at=now
    )
    page = admin_login(officer).get("/admin/").content.decode()
    for request, colour in ((soon, "soon"), (later, "fine")):
        row = page[page.index(request.reference) :]
        assert f'class="{colour}"' in row[: row.index("</tr>")]


def test_the_desk_says_when_the_published_policy_is_out_of_date(admin_login, officer):
    """PC-04: the seed text (2025-01-02) was not generated from the rules, so a fresh install's
    desk says they differ; once a version stating them is in force, it says they match."""
    from tests.policy.conftest import put_generated_version_in_force

    fresh = admin_login(officer).get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The rules that run differ from the published policy" in fresh
    put_generated_version_in_force()
    first = admin_login(officer).get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The published policy matches" in first
    Processor.objects.filter(name="Stibee").update(name="Stibee Mail")
    page = admin_login(officer).get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="desk-policy-stale"' in page


def test_destruction_runs_show_per_rule_with_the_next_scheduled_run(admin_login, officer):
    from django.core.management import call_command

    call_command("destroy_expired", "--rule", "visit_logs", stdout=open("/dev/null", "w"))
    with time_machine.travel(timezone.now()):
        page = admin_login(officer).get("/admin/").content.decode()
    assert 'id="desk-destruction"' in page
    assert page.count("<tr>", page.index('id="desk-destruction"')) > 1


def test_marketing_sees_consent_statistics_but_no_requests_or_jobs(admin_login, marketer, overdue_request):
    page = admin_login(marketer).get("/admin/").content.decode()
    assert 'id="desk-consent"' in page
    assert 'id="desk-requests"' not in page and overdue_request.reference not in page
    assert 'id="desk-jobs"' not in page


def test_switching_the_destruction_job_off_in_the_admin_shows_on_the_desk(admin_login, officer):
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    page = admin_login(officer).get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "not scheduled" not in page
    PeriodicTask.objects.create(
        name="destroy_expired",
        task="retention.tasks.destroy_expired",
        crontab=CrontabSchedule.objects.create(minute="30", hour="3"),
        enabled=False,
    )
    page = admin_login(officer).get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "not scheduled" in page


def test_the_late_and_at_risk_thresholds_are_the_apps_own_in_both_languages(admin_login, officer, settings):
    job = VendorErasureJob.objects.create(
        processor=Processor.objects.get(name="Stibee"), reference="DSAR-LATE", channel="api", status=JobStatus.PENDING
    )
    VendorErasureJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(days=JOB_LATE_AFTER_DAYS + 1)
    )
    client = admin_login(officer)
    english = {
        "/admin/": f"1 open for more than {JOB_LATE_AFTER_DAYS} days.",
        "/admin/dsar/datasubjectrequest/": f"Fewer than {AT_RISK_DAYS} days left",
        "/admin/thirdparty/vendorerasurejob/": f"Open for more than {JOB_LATE_AFTER_DAYS} days",
    }
    korean = {
        "/admin/": f"1건이 {JOB_LATE_AFTER_DAYS}일 넘게 처리 중입니다.",
        "/admin/dsar/datasubjectrequest/": f"{AT_RISK_DAYS}일 미만 남음",
        "/admin/thirdparty/vendorerasurejob/": f"{JOB_LATE_AFTER_DAYS}일 넘게 미완료",
    }
    for language, texts in (("en", english), ("ko", korean)):
        for url, text in texts.items():
            assert text in client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode(), (language, url)
