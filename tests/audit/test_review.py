"""The monthly review of the access log (SA-06c): created on the 1st for the previous month,
listing unusual access, and signed off by the privacy officer with a note."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from audit import services
from audit.models import AccessReview
from audit.services import create_access_review, log_access
from privacyops.lib import hooks

SEOUL = ZoneInfo("Asia/Seoul")


def _at(day: int, hour: int, minute: int = 0):
    return time_machine.travel(datetime(2026, 10, day, hour, minute, tzinfo=SEOUL), tick=False)


def _log(user, action, subject_ids, reason=""):
    return log_access(user=user, ip="10.0.0.1", action=action, subject_ids=subject_ids, reason=reason)


@pytest.fixture(autouse=True)
def default_download_rule():
    """Audit's own rule ("DSAR <reference>"), whatever matcher the DSAR app installed."""
    installed = hooks.download_reason_names_a_request.provider
    hooks.download_reason_names_a_request.provide(None)
    yield
    hooks.download_reason_names_a_request.provide(installed)


@pytest.fixture
def october(officer, support):
    """A month with ordinary work and the unusual accesses the review must find."""
    with _at(6, 10):
        _log(support, "view", [1])
        _log(support, "list", range(1, 30))
        _log(officer, "download", [5], reason="DSAR R-2026-0042")
    with _at(7, 14):
        _log(support, "export", range(1, 1001), reason="campaign list")  # planted bulk export
        _log(support, "export", range(1, 11), reason="ten rows for a bug report")  # small: not flagged
        _log(support, "download", [6], reason="")  # no DSAR behind it
    with _at(8, 23, 30):
        _log(support, "view", [7])  # 23:30 Seoul time
    with _at(9, 7, 59):
        _log(officer, "view", [8])  # 07:59 Seoul time
    with time_machine.travel(datetime(2026, 11, 1, 0, 30, tzinfo=SEOUL), tick=False):
        _log(officer, "export", range(1, 2000), reason="November: not in the October review")


def _form(page, **fields):
    """The change form's POST data: the inline management forms as rendered, plus `fields`."""
    data = {}
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(name): value for name, value in management.initial.items()})
    return {**data, **fields}


def _findings(review):
    return sorted((f.kind, f.username, f.subject_count, f.access_count) for f in review.findings.all())


def test_the_review_flags_a_planted_bulk_export_and_the_other_unusual_access(october, officer):
    with time_machine.travel(datetime(2026, 11, 1, 6, 0, tzinfo=SEOUL), tick=False):
        review, created = create_access_review()

    assert created
    assert (review.period_start, review.period_end) == (date(2026, 10, 1), date(2026, 11, 1))
    assert review.assignee == officer
    assert review.access_count == 8
    assert _findings(review) == [
        ("bulk_export", "support", 1000, 1),
        ("many_subjects", "support", 1000, 6),
        ("off_hours", "officer", 0, 1),
        ("off_hours", "support", 0, 1),
        ("unmatched_download", "support", 1, 1),
    ]
    bulk = review.findings.get(kind="bulk_export")
    assert "campaign list" in bulk.detail


def test_a_reason_matcher_installed_by_the_dsar_app_decides_what_a_matching_request_is(october):
    hooks.download_reason_names_a_request.provide(lambda reason: reason == "DSAR R-2026-0042-unknown")
    review, _ = create_access_review(month=date(2026, 10, 1))
    assert sorted(f.log_seq for f in review.findings.filter(kind="unmatched_download")) == [3, 6]


def test_creating_the_review_twice_gives_the_same_review(october):
    first, created = create_access_review(month=date(2026, 10, 15))
    second, created_again = create_access_review(month=date(2026, 10, 1))
    assert created and not created_again
    assert first.pk == second.pk
    assert AccessReview.objects.count() == 1


def test_the_command_and_the_task_create_the_review_of_the_previous_month(october, capsys):
    call_command("create_access_review", "--month", "2026-10")
    assert "Created review 2026-10" in capsys.readouterr().out

    from audit.tasks import create_access_review as task

    # In-process: the real worker path is covered by the integration tests' broker run.
    with time_machine.travel(datetime(2026, 12, 1, 6, 0, tzinfo=SEOUL), tick=False):
        review_id = task.apply().get()
    assert AccessReview.objects.get(pk=review_id).period_start == date(2026, 11, 1)


def test_beat_runs_the_review_on_the_first_of_the_month_at_six_seoul_time():
    entry = settings.CELERY_BEAT_SCHEDULE["create_access_review"]
    assert entry["task"] == "audit.tasks.create_access_review"
    schedule = entry["schedule"]
    assert (schedule.day_of_month, schedule.hour, schedule.minute) == ({1}, {6}, {0})
    assert settings.CELERY_TIMEZONE == "Asia/Seoul"


def test_the_officer_signs_off_in_the_admin_with_a_note(october, admin_login, officer):
    review, _ = create_access_review(month=date(2026, 10, 1))
    client = admin_login(officer)
    url = reverse("admin:audit_accessreview_change", args=[review.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "campaign list" in page.content.decode()

    refused = client.post(url, _form(page, sign_off_note="  "))
    assert refused.status_code == 200  # the form asks for the note
    review.refresh_from_db()
    assert review.signed_off_at is None

    response = client.post(url, _form(page, sign_off_note="Asked support about the campaign export; deleted."))
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.signed_off_by == officer
    assert review.sign_off_note.startswith("Asked support")
    assert list(services.pending_reviews()) == []


def test_only_the_privacy_officer_may_sign_off(october, admin_login, staff_in_role):
    from audit import roles

    review, _ = create_access_review(month=date(2026, 10, 1))
    auditor = staff_in_role(roles.AUDITOR)
    client = admin_login(auditor)
    url = reverse("admin:audit_accessreview_change", args=[review.pk])
    page = client.get(url)
    assert page.status_code == 200  # reads it
    assert client.post(url, _form(page, sign_off_note="looks fine to me")).status_code == 403
    review.refresh_from_db()
    assert review.signed_off_at is None
    with pytest.raises(services.AuditError):
        services.sign_off_review(review=review, user=auditor, note="looks fine")


def test_access_counts_per_account_feed_the_dashboard(october):
    start = datetime(2026, 10, 1, tzinfo=SEOUL)
    end = datetime(2026, 11, 1, tzinfo=SEOUL)
    counts = {row["username"]: row for row in services.access_counts(since=start, until=end)}
    assert (counts["support"]["accesses"], counts["support"]["exports"], counts["support"]["subjects"]) == (6, 2, 1000)
    assert counts["officer"]["downloads"] == 1
