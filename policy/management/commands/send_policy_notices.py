from __future__ import annotations

from django.core.management.base import BaseCommand

from policy import services


class Command(BaseCommand):
    help = (
        "Send the change notices of announced policy versions by email: first queue one delivery per data "
        "subject with an email address for each newly announced version, then send every pending delivery and "
        "every failed one whose retry time has come, in batches over one mail connection each. Bounced "
        "deliveries and those that used up their attempts are not sent again. Same job as the Celery task "
        "policy.tasks.send_policy_notices."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None, help="Deliveries per batch (default: setting).")
        parser.add_argument("--max-batches", type=int, default=None, help="Stop after this many batches.")
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be queued and sent.")

    def handle(self, *args, batch_size=None, max_batches=None, dry_run=False, **options):
        if dry_run:
            counts = services.count_due_notices()
            self.stdout.write(
                f"Would queue notices for {counts['versions_to_queue']} version(s) "
                f"({counts['subjects_with_email']} subjects with an email each) and send {counts['due']} due now."
            )
            return
        if batch_size is not None and batch_size < 1:
            self.stderr.write("--batch-size must be at least 1.")
            return
        run = services.send_policy_notices(batch_size=batch_size, max_batches=max_batches)
        self.stdout.write(
            f"{run.queued} queued, {run.sent} sent, {run.failed} failed, {run.bounced} bounced "
            f"in {run.batches} batch(es)."
        )
