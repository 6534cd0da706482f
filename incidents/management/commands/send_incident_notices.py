from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from incidents import notices


class Command(BaseCommand):
    help = (
        "Send the breach notices the officer has queued (PIPA art. 34): every pending notice and every failed "
        "one whose retry time has come, by email, or by SMS through SMS_GATEWAY_URL for people with no email, in "
        "batches; then mark as notified each incident whose notices are all sent. Notices that used up "
        "INCIDENT_NOTICE_MAX_ATTEMPTS, or that cannot succeed (no address, refused recipient, 4xx from the "
        "gateway), are not sent again. Same job as the Celery task incidents.tasks.send_incident_notices."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None, help="Notices per batch (default: setting).")
        parser.add_argument("--max-batches", type=int, default=None, help="Stop after this many batches.")
        parser.add_argument("--dry-run", action="store_true", help="Only count the notices due now.")

    def handle(self, *args, batch_size=None, max_batches=None, dry_run=False, **options):
        if dry_run:
            self.stdout.write(f"Would send {notices.count_due_incident_notices()} due notice(s).")
            return
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        run = notices.send_incident_notices(batch_size=batch_size, max_batches=max_batches)
        self.stdout.write(
            f"{run.sent} sent, {run.failed} failed in {run.batches} batch(es); {run.notified} incident(s) notified."
        )
