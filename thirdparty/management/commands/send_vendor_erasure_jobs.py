from __future__ import annotations

from django.core.management.base import BaseCommand

from thirdparty import services


class Command(BaseCommand):
    help = (
        "Send due vendor erasure jobs: Google Analytics user deletions (paced to the property's quota), "
        "Meta custom-audience removals, Stibee unsubscribe/purge calls, and erasure emails to processors "
        "without an API. Failed calls are rescheduled with exponential backoff. Prints counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=200, help="At most this many jobs in this run (default 200).")

    def handle(self, *args, limit: int, **options):
        summary = services.send_vendor_erasure_jobs(limit=limit)
        self.stdout.write(" ".join(f"{key}={value}" for key, value in summary.as_dict().items()))
