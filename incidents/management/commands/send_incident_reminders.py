from __future__ import annotations

from django.core.management.base import BaseCommand

from incidents import services


class Command(BaseCommand):
    help = (
        "Mail the privacy officer a reminder for each open incident whose notice to people or report to the "
        "regulator is still due, at 24, 48 and 66 hours after the company became aware (aware_at). Each "
        "reminder is recorded on the incident's timeline and sent once. Same job as the Celery task "
        "incidents.tasks.send_incident_reminders."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only count the reminders that are due.")

    def handle(self, *args, dry_run=False, **options):
        run = services.send_incident_reminders(dry_run=dry_run)
        verb = "due" if dry_run else "sent"
        self.stdout.write(f"{run.reminders} reminder(s) {verb} for {run.incidents} incident(s); {run.mails} mail(s).")
