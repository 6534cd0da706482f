"""The officer's desk as an officer reads it each morning: full width, charts with labelled axes
(or "no data yet"), each rule's recent runs, the real next run time, the periodic jobs' history,
and every number a link to the admin list it counts."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from audit.models import JobRun
from consent.services import grant_consent
from privacyops.celery import app as celery_app
from privacyops.lib.schedules import next_fire_time
from retention.models import DestructionRun, RetentionRule, RunStatus, Trigger
from subjects.models import VisitLog

pytestmark = pytest.mark.django_db
SEOUL = ZoneInfo("Asia/Seoul")


def desk(client, language="en") -> str:
    return client.get("/admin/", HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_the_desk_is_full_width_and_the_consent_chart_says_no_data_yet(admin_login, officer):
    page = desk(admin_login(officer))
    assert ".dashboard #content { width: auto" in page and 'id="content-related"' not in page
    consent = page[page.index('id="desk-consent"') :]
    assert "No data yet." in consent[: consent.index("</section>")]


def test_the_consent_chart_labels_its_axes_and_counts(admin_login, officer, alice):
    grant_consent(subject=alice, purpose="marketing", channel="web_form", notice_text="Newsletter v3")
    page = desk(admin_login(officer))
    chart = page[page.index('data-purpose="marketing"') :]
    chart = chart[: chart.index("</svg>")]
    assert 'class="x-label">month<' in chart and 'class="y-label">consents<' in chart
    assert "granted 1" in chart and "<rect" in chart


def test_a_rule_shows_its_last_destruction_even_after_a_no_op_run(admin_login, officer):
    rule = RetentionRule.objects.get(key="visit_logs")
    now = timezone.now()
    big = DestructionRun.objects.create(
        rule=rule,
        rule_key=rule.key,
        trigger=Trigger.ADMIN,
        status=RunStatus.SUCCEEDED,
        method="delete",
        started_at=now - timedelta(minutes=3),
        counts={"subjects.VisitLog": {"destroyed": 200}},
    )
    DestructionRun.objects.create(
        rule=rule,
        rule_key=rule.key,
        trigger=Trigger.BEAT,
        status=RunStatus.SUCCEEDED,
        method="delete",
        started_at=now,
        counts={"subjects.VisitLog": {"destroyed": 0}},
    )
    page = desk(admin_login(officer))
    row = page[page.index('data-rule="visit_logs"') :]
    row = row[: row.index("</tr>")]
    assert "200 rows destroyed" in row and f"/admin/retention/destructionrun/{big.pk}/change/" in row
    assert 'class="sparkline"' in row and "0, 200" not in row and "200, 0" in row
    assert "/admin/retention/destructionrun/?rule_key__exact=visit_logs" in row


def test_the_next_run_is_the_beat_schedules_own_time_in_seoul(admin_login, officer):
    PeriodicTask.objects.create(
        name="destroy_expired",
        task="retention.tasks.destroy_expired",
        crontab=CrontabSchedule.objects.create(minute="30", hour="3", timezone="Asia/Seoul"),
        last_run_at=datetime(2026, 9, 1, 3, 30, 2, tzinfo=SEOUL),
    )
    with time_machine.travel(datetime(2026, 9, 1, 3, 29, 40, tzinfo=SEOUL), tick=False):
        page = desk(admin_login(officer))
    row = page[page.index('data-rule="visit_logs"') :]
    assert '<span class="next-run">2026-09-01 03:30 (+0900)</span>' in row[: row.index("</tr>")]


def test_next_fire_time_reads_the_crontab_in_its_zone():
    from celery.schedules import crontab

    utc_after = datetime(2026, 8, 31, 18, 31, tzinfo=ZoneInfo("UTC"))  # 03:31 in Seoul
    assert next_fire_time(crontab(hour=3, minute=30), utc_after, "Asia/Seoul") == datetime(
        2026, 9, 2, 3, 30, tzinfo=SEOUL
    )
    assert next_fire_time(crontab(day_of_month=1, hour=6, minute=0), utc_after, "Asia/Seoul") == datetime(
        2026, 9, 1, 6, 0, tzinfo=SEOUL
    )


def test_request_counts_link_to_the_filtered_inbox(admin_login, officer):
    page = desk(admin_login(officer))
    assert 'href="/admin/dsar/datasubjectrequest/?deadline=overdue"' in page
    assert 'href="/admin/dsar/datasubjectrequest/?deadline=at_risk"' in page


@pytest.fixture
def eager():
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def test_every_periodic_job_run_is_kept_with_its_outcome_and_shown_on_the_desk(admin_login, officer, eager):
    from audit.tasks import anchor_access_log
    from retention.tasks import destroy_expired

    VisitLog.objects.create(visited_at=timezone.now() - timedelta(days=365), path="/old")
    destroy_expired.delay(rule_key="visit_logs")
    anchor_access_log.delay()
    run = JobRun.objects.get(task="retention.tasks.destroy_expired")
    assert run.status == "succeeded" and run.duration_ms is not None and run.finished_at >= run.started_at
    assert run.result == [{"rule": "visit_logs", "status": "succeeded", "run_id": run.result[0]["run_id"]}]
    page = desk(admin_login(officer))
    panel = page[page.index('id="desk-job-runs"') :]
    panel = panel[: panel.index("</section>")]
    row = panel[panel.index('data-task="retention.tasks.destroy_expired"') :]
    row = row[: row.index("</tr>")]
    assert "Destruction of expired data" in row and "succeeded: 1" in row
    assert "/admin/audit/jobrun/?task__exact=retention.tasks.destroy_expired" in row
    listing = admin_login(officer).get("/admin/audit/jobrun/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Destruction of expired data" in listing and "+09:00" in listing


def test_a_failing_job_is_kept_as_failed_with_its_reason(eager):
    from privacyops.celery import app

    @app.task(name="retention.tasks.destroy_expired_failing_stand_in")
    def failing():
        raise RuntimeError("disk full\nsecond line")

    from audit import jobruns

    with pytest.raises(RuntimeError):
        jobruns.record_run("retention.tasks.destroy_expired", failing)
    run = JobRun.objects.get()
    assert run.status == "failed" and run.error == "RuntimeError: disk full"


def test_nights_of_no_op_runs_fold_into_one_line_in_the_register(admin_login, officer):
    night = datetime(2026, 9, 1, 3, 30, tzinfo=SEOUL)
    for rule in RetentionRule.objects.filter(active=True)[:5]:
        DestructionRun.objects.create(
            rule=rule,
            rule_key=rule.key,
            trigger=Trigger.BEAT,
            status=RunStatus.SUCCEEDED,
            method="delete",
            started_at=night,
            counts={},
        )
    worked = DestructionRun.objects.create(
        rule_key="visit_logs",
        trigger=Trigger.BEAT,
        status=RunStatus.SUCCEEDED,
        method="delete",
        started_at=night,
        counts={"subjects.VisitLog": {"destroyed": 7}},
    )
    client = admin_login(officer)
    page = client.get("/admin/retention/destructionrun/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "2026-09-01: 5 rules ran from 03:30 and destroyed nothing." in page
    assert page.count('class="action-select"') == 1 and f'value="{worked.pk}"' in page
    every = client.get("/admin/retention/destructionrun/?noop=all", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert every.count('class="action-select"') == 6


def test_the_data_map_draws_the_registry_in_both_languages(admin_login, officer, alice):
    client = admin_login(officer)
    assert 'href="/admin/datamap/"' in desk(client)
    english = client.get("/admin/datamap/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = english[english.index('data-model="subjects.VisitLog"') :]
    row = row[: row.index("</tr>")]
    assert "Visit logs" in row and "3 months" in row and "kept by law after an erasure request" in row
    assert 'href="/privacy/#s1-2"' in row and '<a href="/admin/subjects/visitlog/">3</a>' in row
    assert "Google Analytics" in row
    korean = client.get("/admin/datamap/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "데이터 지도" in korean and "3개월" in korean


def test_the_data_map_is_for_staff_who_may_read_the_rules(admin_login, marketer):
    assert admin_login(marketer).get("/admin/datamap/").status_code == 403
