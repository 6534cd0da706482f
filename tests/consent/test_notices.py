from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext

from consent import services
from consent.models import ConsentState, MarketingNotice, NoticeKind

pytestmark = pytest.mark.django_db
SEOUL = ZoneInfo("Asia/Seoul")


def test_a_marketing_consent_gets_its_result_notice_once_committed(
    alice, eager_tasks, django_capture_on_commit_callbacks
):
    with time_machine.travel(datetime(2026, 4, 2, 15, 30, tzinfo=SEOUL), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            event = services.grant_consent(subject=alice, purpose="marketing", channel="web_form", night_time=True)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    body = message.body
    # CM-04: sender, what they did and when, and the result.
    assert "Palette Inc." in message.subject and "Palette Inc." in body
    assert "2026-04-02 15:30" in body
    assert "21:00" in body  # the night-time consent is part of what they did
    assert "/consent/preferences/" in body
    assert MarketingNotice.objects.filter(event=event, kind=NoticeKind.RESULT).count() == 1


def test_the_notice_for_a_withdrawal_says_no_more_messages_will_come(
    alice, eager_tasks, django_capture_on_commit_callbacks
):
    services.grant_consent(subject=alice, purpose="marketing", channel="web_form")
    with django_capture_on_commit_callbacks(execute=True):
        services.withdraw_consent(subject=alice, purpose="marketing", channel="email_link")
    assert len(mail.outbox) == 1
    with translation.override("ko"):
        expected = gettext("Processed: you will receive no more marketing messages.")
    assert expected in mail.outbox[0].body


def test_no_result_notice_is_sent_for_non_marketing_purposes(alice, eager_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.grant_consent(subject=alice, purpose="third_party_integration", channel="web_form")
    assert callbacks == [] and mail.outbox == []


def test_the_sweep_sends_missed_notices_within_14_days_and_never_twice(alice, bob, committed):
    # The on-commit task never ran (the broker was down): the hourly sweep catches up.
    with time_machine.travel(datetime(2026, 4, 1, 9, 0, tzinfo=SEOUL), tick=False):
        services.grant_consent(subject=bob, purpose="marketing", channel="web_form")
    with time_machine.travel(datetime(2026, 4, 10, 9, 0, tzinfo=SEOUL), tick=False):
        services.grant_consent(subject=alice, purpose="marketing", channel="web_form")
    with time_machine.travel(datetime(2026, 4, 20, 9, 0, tzinfo=SEOUL), tick=False):
        with committed():
            result = services.send_result_notices()
        assert (result.sent, result.overdue) == (1, 1)
        assert [m.to for m in mail.outbox] == [["alice@example.com"]]
        with committed():
            assert services.send_result_notices().sent == 0
    assert len(mail.outbox) == 1


def test_a_notice_that_fails_to_send_is_not_recorded_as_sent(alice, settings, committed):
    settings.EMAIL_BACKEND = "tests.consent.failing_mail.Backend"
    event = services.grant_consent(subject=alice, purpose="marketing", channel="web_form")
    with pytest.raises(ConnectionRefusedError), committed():
        services.send_result_notice(event_id=event.pk)
    assert not MarketingNotice.objects.exists()


def reconfirmation_cast(alice, bob, carol):
    services.grant_consent(
        subject=alice, purpose="marketing", channel="web_form", at=datetime(2024, 6, 20, 10, tzinfo=SEOUL)
    )
    services.grant_consent(
        subject=bob, purpose="marketing", channel="web_form", at=datetime(2024, 9, 1, 10, tzinfo=SEOUL)
    )
    services.grant_consent(
        subject=carol, purpose="marketing", channel="web_form", at=datetime(2024, 5, 20, 10, tzinfo=SEOUL)
    )


def test_consents_due_within_30_days_get_a_reconfirmation_and_keep_counting(alice, bob, carol, committed):
    reconfirmation_cast(alice, bob, carol)
    today = datetime(2026, 6, 1, 10, tzinfo=SEOUL)
    with time_machine.travel(today, tick=False), committed():
        result = services.reconfirm_marketing_consent()
    # Alice's anniversary (2026-06-20) is 19 days away; Bob's is months away; Carol's passed on 2026-05-20.
    assert (result.due, result.sent, result.lapsed) == (1, 1, 1)
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    body = mail.outbox[0].body
    assert "2024-06-20" in body and "2026-06-20" in body and "Palette Inc." in body and "/consent/preferences/" in body
    notice = MarketingNotice.objects.get(kind=NoticeKind.RECONFIRMATION)
    assert notice.subject == alice and notice.anniversary_at == datetime(2026, 6, 20, 10, tzinfo=SEOUL)
    state = ConsentState.objects.get(subject=alice)
    assert state.reconfirmation_sent_at == today
    assert state.reconfirm_due_at == datetime(2028, 6, 20, 10, tzinfo=SEOUL)
    # After the anniversary Alice still counts (she was re-confirmed); Carol, never notified, does not.
    after = datetime(2026, 7, 1, 10, tzinfo=SEOUL)
    assert services.may_process(subject=alice, purpose="marketing", at=after)
    assert not services.may_process(subject=carol, purpose="marketing", at=after)
    assert list(services.marketing_audience(channel="email", at=after).order_by("name")) == [alice, bob]
    # Running again the same day sends nothing new.
    with time_machine.travel(today + timedelta(hours=1), tick=False), committed():
        assert services.reconfirm_marketing_consent().sent == 0
    assert len(mail.outbox) == 1


def test_a_new_consent_restarts_the_two_year_clock(carol):
    services.grant_consent(
        subject=carol, purpose="marketing", channel="web_form", at=datetime(2024, 5, 20, 10, tzinfo=SEOUL)
    )
    services.grant_consent(
        subject=carol, purpose="marketing", channel="preference_page", at=datetime(2026, 6, 1, 10, tzinfo=SEOUL)
    )
    assert ConsentState.objects.get(subject=carol).reconfirm_due_at == datetime(2028, 6, 1, 10, tzinfo=SEOUL)
    assert services.may_process(subject=carol, purpose="marketing", at=datetime(2026, 6, 2, tzinfo=SEOUL))


def test_the_command_reports_and_its_dry_run_sends_nothing(alice, bob, carol, capsys, committed):
    reconfirmation_cast(alice, bob, carol)
    with time_machine.travel(datetime(2026, 6, 1, 10, tzinfo=SEOUL), tick=False):
        with committed():
            call_command("reconfirm_marketing_consent", "--dry-run")
        assert "[dry run] due within 30 days: 1; notices sent: 0" in capsys.readouterr().out
        assert mail.outbox == [] and not MarketingNotice.objects.exists()
        with committed():
            call_command("reconfirm_marketing_consent")
        assert "notices sent: 1" in capsys.readouterr().out
    assert len(mail.outbox) == 1


class Rollback(Exception):
    pass


def test_a_result_notice_leaves_only_after_commit_and_a_rollback_sends_nothing(alice, committed):
    event = services.grant_consent(subject=alice, purpose="marketing", channel="web_form")
    with pytest.raises(Rollback), committed(), transaction.atomic():
        services.send_result_notice(event_id=event.pk)
        assert mail.outbox == []  # recorded, not sent, while the transaction is open
        raise Rollback
    assert mail.outbox == [] and not MarketingNotice.objects.exists()
    with committed():
        services.send_result_notice(event_id=event.pk)
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_a_reconfirmation_rolled_back_or_refused_is_not_sent_and_stays_due(alice, bob, carol, settings, committed):
    reconfirmation_cast(alice, bob, carol)
    due = ConsentState.objects.get(subject=alice).reconfirm_due_at
    with time_machine.travel(datetime(2026, 6, 1, 10, tzinfo=SEOUL), tick=False):
        with pytest.raises(Rollback), committed(), transaction.atomic():
            assert services.reconfirm_marketing_consent().sent == 1
            assert mail.outbox == []
            raise Rollback
        assert mail.outbox == []
        settings.EMAIL_BACKEND = "tests.consent.failing_mail.Backend"
        with pytest.raises(ConnectionRefusedError), committed():
            services.reconfirm_marketing_consent()
    assert not MarketingNotice.objects.filter(kind=NoticeKind.RECONFIRMATION).exists()
    state = ConsentState.objects.get(subject=alice)
    assert (state.reconfirm_due_at, state.reconfirmation_sent_at) == (due, None)
