from __future__ import annotations

from django.core.management.base import BaseCommand

from dsar.jobs import resend_dsar_verifications


class Command(BaseCommand):
    help = (
        "Send the verification email of web requests whose email never went out (for example, the broker "
        "was down when the form was submitted): submitted more than 2 minutes ago, not yet expired, no "
        "verification_sent_at. A request whose email was already sent is never sent a second link."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"verification emails sent: {resend_dsar_verifications()}")
