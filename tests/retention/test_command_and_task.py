from __future__ import annotations

from io import StringIO

import pytest
from celery.schedules import crontab
from django.core.management import CommandError, call_command

from retention.models import DestructionRun, RunStatus, Trigger
from subjects.models import VisitLog


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def test_the_command_says_what_it_destroyed(old_visits):
    out = StringIO()
    call_command("destroy_expired", "--rule", "visit_logs", "--batch-size", "2", stdout=out)
    text = out.getvalue()
    run = DestructionRun.objects.get()
    assert "visit_logs: succeeded cutoff " in text and f"(run #{run.pk})" in text
    assert "  subjects.VisitLog: destroyed 5" in text
    assert "  3 batches, longest " in text
    # Not a terminal: plain progress lines, no carriage returns.
    assert "visit_logs: 100% (subjects.VisitLog)" in text and "\r" not in text
    assert VisitLog.objects.count() == 3
    assert run.trigger == Trigger.COMMAND


def test_the_command_draws_a_progress_bar_on_a_terminal(old_visits):
    out = Terminal()
    call_command("destroy_expired", "--rule", "visit_logs", "--batch-size", "2", stdout=out)
    assert "\rvisit_logs [" + "#" * 30 + "] 100% subjects.VisitLog" in out.getvalue()


def test_the_command_dry_run_counts_and_keeps(old_visits):
    out = StringIO()
    call_command("destroy_expired", "--rule", "visit_logs", "--dry-run", stdout=out)
    assert "visit_logs: dry_run" in out.getvalue()
    assert "subjects.VisitLog: destroyed 5" in out.getvalue()
    assert VisitLog.objects.count() == 8


def test_the_command_runs_every_active_rule_without_a_rule_option(old_visits):
    out = StringIO()
    call_command("destroy_expired", stdout=out)
    for key in ("visit_logs", "complaint_records", "inquiries", "subject_profiles", "sns_accounts"):
        assert f"{key}: succeeded" in out.getvalue()


def test_the_command_refuses_an_unknown_rule_and_a_bad_batch_size(db):
    with pytest.raises(CommandError, match="No active retention rule"):
        call_command("destroy_expired", "--rule", "nope", stdout=StringIO())
    with pytest.raises(CommandError, match="at least 1"):
        call_command("destroy_expired", "--batch-size", "0", stdout=StringIO())


def test_the_beat_entry_runs_the_task_daily_at_0330_seoul_time(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["destroy_expired"]
    assert entry["task"] == "retention.tasks.destroy_expired"
    assert isinstance(entry["schedule"], crontab)
    assert entry["schedule"].hour == {3} and entry["schedule"].minute == {30}
    assert settings.CELERY_TIMEZONE == "Asia/Seoul"
    assert 0 < entry["options"]["expire_seconds"] <= 24 * 3600

    from privacyops.celery import app

    app.loader.import_default_modules()
    assert entry["task"] in app.tasks


def test_the_task_destroys_like_the_command_and_is_recorded_as_beat(old_visits):
    from retention.tasks import destroy_expired

    summary = destroy_expired.apply(kwargs={"rule_key": "visit_logs"}).get()
    assert summary == [{"rule": "visit_logs", "status": RunStatus.SUCCEEDED, "run_id": DestructionRun.objects.get().pk}]
    assert DestructionRun.objects.get().trigger == Trigger.BEAT
    assert VisitLog.objects.count() == 3
