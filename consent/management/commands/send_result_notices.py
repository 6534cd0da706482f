from __future__ import annotations

from django.core.management.base import BaseCommand

from consent import services


class Command(BaseCommand):
    help = (
        "Email the result notice (Network Act art. 50(7)) for every marketing consent, refusal or withdrawal of "
        "the last 14 days that has none yet (each event is notified once; imports are not). Reports older events "
        "that never got one. Runs hourly under beat as consent.tasks.send_result_notices."
    )

    def handle(self, *args, **options):
        result = services.send_result_notices()
        self.stdout.write(
            f"result notices sent: {result.sent}; overdue (older than 14 days, none sent): {result.overdue}"
        )
