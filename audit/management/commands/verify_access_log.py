from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from audit.anchors import AnchorError, read_anchors
from audit.services import verify_access_log


class Command(BaseCommand):
    help = (
        "Recompute the MAC (HMAC-SHA256 under ACCESS_LOG_CHAIN_KEY) of every access-log row and follow the "
        "chain to its head. With --anchor FILE (a signed anchor written by anchor_access_log, or a folder of "
        "them: each), also check that the log still holds the anchored row with its MAC and as many rows "
        "as were anchored (less the oldest ones retention purged since). Prints each row that was edited, "
        "deleted or inserted, or the truncation or re-chain, and exits with status 1 if there is any; changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--anchor", metavar="FILE", help="An anchor file (or a folder of anchors) kept outside the database."
        )

    def handle(self, *args, **options):
        against = []
        if options["anchor"]:
            try:
                against = read_anchors(options["anchor"])
            except AnchorError as exc:
                raise CommandError(str(exc)) from exc
        report = verify_access_log(against=against)
        for problem in report.problems:
            self.stderr.write(problem)
        if not report.ok:
            raise CommandError(
                f"The access log was tampered with: {len(report.problems)} problem(s) in {report.checked} rows."
            )
        anchored = f"; it matches {len(against)} anchor(s), the newest at #{against[-1].seq}" if against else ""
        self.stdout.write(self.style.SUCCESS(f"The access log is intact: {report.checked} rows checked{anchored}."))
