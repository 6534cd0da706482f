from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from audit.anchors import AnchorError, anchor_access_log


class Command(BaseCommand):
    help = (
        "Sign the access log's head (last seq, its MAC, its time, the row count) with ACCESS_LOG_CHAIN_KEY, "
        "write it as a JSON file under ACCESS_LOG_ANCHOR_DIR (or --dir) and email it to the privacy officers. "
        "Refuses when the last row does not verify. Changes nothing in the database. Daily in beat."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dir", help="Folder for the anchor file (default: ACCESS_LOG_ANCHOR_DIR).")
        parser.add_argument("--no-mail", action="store_true", help="Write the file only.")

    def handle(self, *args, **options):
        try:
            anchor, path = anchor_access_log(directory=options["dir"], send=not options["no_mail"])
        except AnchorError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Anchored the access log at #{anchor.seq} ({anchor.count} rows): {path}")
