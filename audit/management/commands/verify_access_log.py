from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from audit.services import verify_access_log


class Command(BaseCommand):
    help = (
        "Recompute the hash of every access-log row and follow the chain to its head. Prints each "
        "row that was edited, deleted or inserted and exits with status 1 if there is any; changes nothing."
    )

    def handle(self, *args, **options):
        report = verify_access_log()
        for problem in report.problems:
            self.stderr.write(problem)
        if not report.ok:
            raise CommandError(
                f"The access log was tampered with: {len(report.problems)} problem(s) in {report.checked} rows."
            )
        self.stdout.write(self.style.SUCCESS(f"The access log is intact: {report.checked} rows checked."))
