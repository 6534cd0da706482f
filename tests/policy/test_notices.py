from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from policy import services
from policy.models import DeliveryStatus, PolicyNoticeDelivery
from policy.tasks import send_policy_notices as send_task
from privacyops.lib.actors import SYSTEM
from subjects.models import CollectionSource, DataSubject

from .conftest import seoul

pytestmark = pytest.mark.django_db


@pytest.fixture
def announced(now, officer, alice, bob):
    """A version announced now, with alice, bob, three more people with an email and one without."""
    for n in range(3):
        DataSubject.objects.create(email=f"person{n}@example.com", source=CollectionSource.OFFLINE_EVENT)
    DataSubject.objects.create(name="No Email", phone="010-0000-0000", source=CollectionSource.CUSTOMER_SERVICE)
    version = services.draft_policy_version(
        label="2026-03-09",
        effective_at=seoul(2026, 3, 9),
        summary_ko="문의 기록의 보유 기간을 명시합니다.",
        summary_en="States how long inquiries are kept.",
    )
    return services.announce_policy_version(version=version, actor=officer)


def test_notices_go_to_everyone_with_an_email_in_batches_with_a_delivery_record_each(announced, scripted_mail):
    run = services.send_policy_notices(batch_size=2)
    assert (run.queued, run.sent, run.batches) == (5, 5, 3)
    assert scripted_mail.connections_opened == 3  # one mail connection per batch
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        DataSubject.objects.filter(email__isnull=False).values_list("email", flat=True)
    )
    deliveries = PolicyNoticeDelivery.objects.filter(version=announced)
    assert deliveries.count() == 5 and set(deliveries.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert all(d.sent_at and d.attempts == 1 for d in deliveries)
    # Sending again sends nothing: each person is notified once per version.
    assert services.send_policy_notices().sent == 0 and len(mail.outbox) == 5


def test_the_notice_says_what_changes_when_in_korean_and_english_with_the_link(announced, scripted_mail):
    services.send_policy_notices()
    message = mail.outbox[0]
    assert "2026년 3월 9일" in message.subject
    assert (
        "문의 기록의 보유 기간을 명시합니다." in message.body and "States how long inquiries are kept." in message.body
    )
    assert "March 9, 2026" in message.body
    assert "http://127.0.0.1:8000/privacy/versions/2026-03-09/" in message.body
    assert "hello@pltt.xyz" in message.body


def test_a_failed_send_is_retried_with_backoff_and_then_sent(announced, scripted_mail, now, settings):
    scripted_mail.scripts = {"alice@example.com": ["down", "down"]}
    run = services.send_policy_notices()
    assert (run.sent, run.failed) == (4, 1)
    delivery = PolicyNoticeDelivery.objects.get(subject__email="alice@example.com")
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 1, "SMTPServerDisconnected")
    first_retry = delivery.next_attempt_at
    assert first_retry - delivery.version.announced_at >= timedelta(seconds=settings.POLICY_NOTICE_RETRY_BASE_SECONDS)

    assert services.send_policy_notices().sent == 0  # not due yet
    now.move_to(first_retry + timedelta(seconds=1))
    assert services.send_policy_notices().failed == 1  # second failure: the wait doubles
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.next_attempt_at - first_retry >= timedelta(seconds=2 * 600)

    now.move_to(delivery.next_attempt_at + timedelta(seconds=1))
    assert services.send_policy_notices().sent == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 3, "")
    assert [m.to[0] for m in mail.outbox].count("alice@example.com") == 1


def test_a_notice_that_keeps_failing_stops_after_the_last_attempt(announced, scripted_mail, now, settings):
    settings.POLICY_NOTICE_MAX_ATTEMPTS = 2
    scripted_mail.scripts = {"bob@example.com": ["down"] * 5}
    services.send_policy_notices()
    delivery = PolicyNoticeDelivery.objects.get(subject__email="bob@example.com")
    now.move_to(delivery.next_attempt_at + timedelta(seconds=1))
    services.send_policy_notices()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 2, None)
    now.move_to(seoul(2026, 3, 5))
    assert services.send_policy_notices().failed == 0  # given up: no third attempt
    # Staff fix the address and retry from the admin: a fresh set of attempts.
    assert services.retry_policy_notices(delivery_ids=[delivery.pk], actor=SYSTEM) == 1
    scripted_mail.scripts = {}
    assert services.send_policy_notices().sent == 1


def test_a_refused_address_is_recorded_as_bounced_and_not_retried(announced, scripted_mail, now):
    scripted_mail.scripts = {"person0@example.com": ["refused"]}
    run = services.send_policy_notices()
    assert run.bounced == 1
    delivery = PolicyNoticeDelivery.objects.get(subject__email="person0@example.com")
    assert (delivery.status, delivery.last_error) == ("bounced", "SMTPRecipientsRefused")
    now.move_to(seoul(2026, 3, 8))
    assert services.send_policy_notices().bounced == 0


def test_the_mail_server_being_down_fails_the_batch_and_it_is_retried(announced, settings, now):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
    run = services.send_policy_notices()
    assert run.failed == 5 and run.sent == 0
    errors = set(PolicyNoticeDelivery.objects.values_list("last_error", flat=True))
    assert errors == {"ConnectionRefusedError"}


def test_notices_go_to_people_who_refused_marketing_or_restricted_processing(announced, scripted_mail, alice):
    DataSubject.objects.filter(pk=alice.pk).update(processing_restricted=True)
    services.send_policy_notices()
    assert "alice@example.com" in [m.to[0] for m in mail.outbox]


def test_the_command_and_the_task_run_the_same_job(announced, scripted_mail, capsys):
    call_command("send_policy_notices", "--dry-run")
    assert "1 version(s) (5 subjects with an email each)" in capsys.readouterr().out
    assert not mail.outbox and not PolicyNoticeDelivery.objects.exists()
    call_command("send_policy_notices", "--batch-size", "2", "--max-batches", "1")
    assert "5 queued, 2 sent" in capsys.readouterr().out
    assert send_task.apply().get() == {"queued": 0, "sent": 3, "failed": 0, "bounced": 0}


def test_announcing_enqueues_the_notices_after_commit(
    now, officer, alice, scripted_mail, eager_celery, django_capture_on_commit_callbacks
):
    version = services.draft_policy_version(label="next", effective_at=seoul(2026, 3, 9))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.announce_policy_version(version=version, actor=officer)
    assert len(callbacks) == 1
    assert [m.to[0] for m in mail.outbox] == ["alice@example.com"]


def test_a_batch_claimed_by_one_worker_is_not_sent_by_another_until_its_lease_runs_out(
    announced, scripted_mail, now, settings
):
    services.queue_policy_notices(version=announced)
    claimed = services._claim_batch(batch_size=10, now=timezone.now())  # worker A, which then dies
    assert len(claimed) == 5
    assert services.send_policy_notices().sent == 0  # worker B finds nothing due
    now.move_to(timezone.now() + timedelta(seconds=settings.POLICY_NOTICE_LEASE_SECONDS + 1))
    assert services.send_policy_notices().sent == 5
    assert len(mail.outbox) == 5
