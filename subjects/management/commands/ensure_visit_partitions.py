from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from subjects.partitions import ensure_visit_partitions, is_partitioned


class Command(BaseCommand):
    help = (
        "Create the visit log's monthly partitions from this month to --months-ahead months ahead "
        "(PostgreSQL; nothing to do on SQLite). Idempotent. Runs daily under beat as "
        "subjects.tasks.ensure_visit_partitions."
    )

    def add_arguments(self, parser):
        parser.add_argument("--months-ahead", type=int, default=3, help="Months after the current one (default 3).")

    def handle(self, *args, months_ahead: int = 3, **options):
        if months_ahead < 0:
            raise CommandError("--months-ahead must be 0 or more.")
        if not is_partitioned():
            self.stdout.write("the visit log is not partitioned on this database: nothing to do")
            return
        created = ensure_visit_partitions(months_ahead=months_ahead)
        self.stdout.write(f"created: {', '.join(created) if created else 'none (all exist)'}")
