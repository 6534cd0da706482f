from __future__ import annotations

from django.core.management.base import BaseCommand

from dsar.jobs import send_dsar_reminders


class Command(BaseCommand):
    help = (
        "Email data-subject-request reminders: to the assignee (or the privacy officers when nobody is assigned) "
        "once when a request is DSAR_REMINDER_DAYS_BEFORE_DUE days from its due date (day 7 of 10), and one "
        "digest a day to every privacy officer (users with dsar.change_datasubjectrequest and "
        "dsar.oversee_requests) listing each overdue request. Runs daily at 09:00 Seoul time under beat."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be sent; send nothing.")

    def handle(self, *args, dry_run: bool = False, **options):
        result = send_dsar_reminders(dry_run=dry_run)
        self.stdout.write(
            f"assignee reminders: {result.assignee_reminders}, overdue requests: {result.overdue_requests}, "
            f"officer emails: {result.officer_emails}{' (dry run)' if dry_run else ''}"
        )
