from __future__ import annotations

from django.core.management.base import BaseCommand

from consent import services


class Command(BaseCommand):
    help = (
        "Email a re-confirmation notice (Network Act art. 50(8)) to every person whose marketing consent "
        "reaches its 2-year anniversary within the next 30 days, record that it was sent, and move the "
        "anniversary 2 years on. Reports consents whose anniversary already passed without a notice: they "
        "no longer count for marketing. Runs daily under beat as consent.tasks.reconfirm_marketing_consent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what is due; send and record nothing.")

    def handle(self, *args, dry_run: bool = False, **options):
        result = services.reconfirm_marketing_consent(dry_run=dry_run)
        prefix = "[dry run] " if dry_run else ""
        self.stdout.write(
            f"{prefix}due within 30 days: {result.due}; notices sent: {result.sent}; "
            f"without an email address: {result.no_email}; "
            f"lapsed (anniversary passed without a notice): {result.lapsed}"
        )
