"""Benchmark of policy change notices: queueing one delivery per subject and sending them.

Fills the database named by DATABASE_URL (it is WIPED of subjects and policy notices) with
N subjects that have an email, announces a version, then times `queue_policy_notices` and
`send_policy_notices` with Django's dummy mail backend (rendering both languages and building
each message, but no SMTP round trip, which a real server adds per message).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/privacyops_policy_bench \\
        python bench/policy_notices.py [--subjects 20000] [--batch-size 200]
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import timedelta

from common import setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subjects", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=200)
    args = parser.parse_args()

    setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from policy import services
    from policy.models import PolicyNoticeDelivery, PolicyVersion
    from subjects.models import DataSubject

    call_command("migrate", verbosity=0)
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    PolicyNoticeDelivery.objects.all().delete()
    PolicyVersion.objects.exclude(label="2025-01-02").delete()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE subjects_datasubject RESTART IDENTITY CASCADE")
            cursor.execute(
                "INSERT INTO subjects_datasubject (name, email, phone, source, created_at, updated_at, "
                "processing_restricted) SELECT 'n', 'p' || g || '@example.com', '', 'customer_service', now(), now(), "
                "false FROM generate_series(1, %s) g",
                [args.subjects],
            )
    else:
        DataSubject.objects.all().delete()
        DataSubject.objects.bulk_create(
            [DataSubject(email=f"p{i}@example.com", source="customer_service") for i in range(args.subjects)],
            batch_size=5000,
        )
    now = timezone.now()
    version = PolicyVersion.objects.create(
        label="bench", effective_at=now + timedelta(days=8), summary_en="Bench", summary_ko="벤치"
    )
    PolicyVersion.objects.filter(pk=version.pk).update(announced_at=now)  # skips the freeze: not what is timed
    version.refresh_from_db()

    started = time.perf_counter()
    queued = services.queue_policy_notices(version=version, batch_size=1000)
    queue_seconds = time.perf_counter() - started

    started = time.perf_counter()
    run = services.send_policy_notices(batch_size=args.batch_size)
    send_seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"database: {connection.vendor}; subjects: {args.subjects}; batch size: {args.batch_size}")
    print(f"queue: {queued} deliveries in {queue_seconds:.2f} s ({queued / queue_seconds:,.0f}/s)")
    print(f"send: {run.sent} sent in {run.batches} batches, {send_seconds:.2f} s ({run.sent / send_seconds:,.0f}/s)")
    print(f"peak RSS: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
