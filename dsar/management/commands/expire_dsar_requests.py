from __future__ import annotations

from django.core.management.base import BaseCommand

from dsar.jobs import expire_dsar_requests


class Command(BaseCommand):
    help = (
        "DELETES: web requests never verified within DSAR_UNVERIFIED_TTL_HOURS (with their timeline and "
        "power-of-attorney upload); access-package ZIPs whose download link expired or whose request was "
        "refused or withdrawn; files in dsar's private storage that no request refers to any more."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")

    def handle(self, *args, dry_run: bool = False, **options):
        result = expire_dsar_requests(dry_run=dry_run)
        self.stdout.write(
            f"unverified requests destroyed: {result.unverified_destroyed}, packages deleted: "
            f"{result.packages_deleted}, orphan files deleted: {result.orphan_files_deleted}"
            f"{' (dry run: nothing deleted)' if dry_run else ''}"
        )
