from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from consent import services
from consent.models import CookieConsentRecord

pytestmark = pytest.mark.django_db
SEOUL = ZoneInfo("Asia/Seoul")


def make_record(at):
    return CookieConsentRecord.objects.create(
        visitor_id="f" * 32,
        banner_version="0" * 16,
        language="ko",
        choice="reject_all",
        categories=["necessary"],
        notice_sha256="0" * 64,
        created_at=at,
    )


def test_cookie_records_go_after_the_cookie_life_plus_the_proof_period(settings, capsys):
    now = datetime(2030, 1, 1, tzinfo=SEOUL)
    keep_days = settings.CONSENT_COOKIE_MAX_AGE_DAYS + settings.CONSENT_PROOF_PERIOD_DAYS
    old = [make_record(now - timedelta(days=keep_days + 1)) for _ in range(5)]
    recent = make_record(now - timedelta(days=keep_days - 1))
    with time_machine.travel(now, tick=False):
        call_command("purge_cookie_consent_records", "--dry-run")
        assert "would delete: 5" in capsys.readouterr().out
        assert CookieConsentRecord.objects.count() == 6
        assert services.purge_cookie_consent_records(batch_rows=2) == 5
    assert list(CookieConsentRecord.objects.all()) == [recent]
    assert old


def test_the_result_notice_sweep_command_reports_what_it_sent(alice, capsys, mailoutbox, committed):
    services.grant_consent(subject=alice, purpose="marketing", channel="web_form")
    with committed():
        call_command("send_result_notices")
    assert "result notices sent: 1; overdue (older than 14 days, none sent): 0" in capsys.readouterr().out
    assert len(mailoutbox) == 1
