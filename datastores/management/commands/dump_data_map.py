from __future__ import annotations

from django.core.management.base import BaseCommand

from datastores.datamap import dump_data_map


class Command(BaseCommand):
    help = (
        "Write the data map (declared systems and tables) as YAML to standard output, the format load_data_map reads."
    )

    def handle(self, *args, **options):
        self.stdout.write(dump_data_map(), ending="")
