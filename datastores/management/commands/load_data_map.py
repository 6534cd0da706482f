from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from datastores.connect import DatastoreError
from datastores.datamap import load_data_map
from privacyops.lib.actors import SYSTEM


class Command(BaseCommand):
    help = (
        "Load the data map (the company's other databases and their personal-data tables) from a YAML file. "
        "Every table and column named is checked against the real database first; nothing is written when "
        "one is refused. Systems in the file are created or updated, their tables no longer listed removed."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The data map (YAML; format in docs/DATASTORES.md).")

    def handle(self, *args, file, **options):
        try:
            text = Path(file).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.")
        try:
            result = load_data_map(text, actor=SYSTEM)
        except DatastoreError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"Loaded {result.systems} system(s), {result.tables} table(s).")
        for key in result.rules_created:
            self.stdout.write(f"  created retention rule {key}")
        for label in result.tables_removed:
            self.stdout.write(f"  removed {label} (no longer in the file)")
