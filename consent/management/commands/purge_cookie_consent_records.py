from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from consent import services


class Command(BaseCommand):
    help = (
        "DELETE cookie-banner consent records older than the choice cookie's life plus the proof period "
        f"({settings.CONSENT_COOKIE_MAX_AGE_DAYS} + {settings.CONSENT_PROOF_PERIOD_DAYS} days), in batches. "
        "Runs daily under beat as consent.tasks.purge_cookie_consent_records."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count the records that would be deleted.")

    def handle(self, *args, dry_run: bool = False, **options):
        count = services.purge_cookie_consent_records(dry_run=dry_run)
        self.stdout.write(f"{'would delete' if dry_run else 'deleted'}: {count} cookie consent records")
