from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from audit.services import create_access_review, previous_month


class Command(BaseCommand):
    help = (
        "Create the monthly access review of a month (default: the previous month, Seoul time): lists "
        "bulk exports, downloads without a matching DSAR, access outside working hours and accounts that "
        "read many subjects, and assigns it to the privacy officer. Does nothing if the review exists."
    )

    def add_arguments(self, parser):
        parser.add_argument("--month", help="The month to review, as YYYY-MM (default: the previous month).")

    def handle(self, *args, month: str | None, **options):
        try:
            first = date.fromisoformat(f"{month}-01") if month else previous_month()
        except ValueError:
            raise CommandError("--month must look like 2026-10.")
        review, created = create_access_review(month=first)
        verb = "Created" if created else "Already there:"
        self.stdout.write(f"{verb} review {review} (id {review.pk}) with {review.finding_count} finding(s).")
