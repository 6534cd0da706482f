from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from datastores.connect import DatastoreError
from datastores.models import ExternalSystem
from datastores.scan import scan_system


class Command(BaseCommand):
    help = (
        "Reflect a declared system's tables and sample column values (never stored) to find columns that look "
        "like personal data: email addresses, Korean mobile numbers, resident registration numbers, IP "
        "addresses, card numbers, and names by column name. Columns no declared table covers are data map "
        "drift, listed on the officer's desk."
    )

    def add_arguments(self, parser):
        parser.add_argument("key", help="The system's key in the data map (e.g. website).")

    def handle(self, *args, key, **options):
        system = ExternalSystem.objects.filter(key=key).first()
        if system is None:
            raise CommandError(f"No declared system with the key {key!r}.")
        try:
            findings = scan_system(system)
        except DatastoreError as exc:
            raise CommandError(str(exc))
        if not findings:
            self.stdout.write(f"{key}: no column looks like personal data.")
        for f in findings:
            state = "declared" if f.declared else "NOT DECLARED"
            counts = f" ({f.matched} of {f.sampled} sampled values)" if f.sampled else " (by its name)"
            self.stdout.write(f"{key}.{f.table}.{f.column}: {f.kind}{counts} - {state}")
