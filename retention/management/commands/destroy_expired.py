from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from privacyops.lib.actors import SYSTEM
from retention.models import DestructionRun, Trigger
from retention.services import RetentionError, destroy_expired


class Command(BaseCommand):
    help = (
        "Permanently delete (or anonymise, per rule) the personal data whose retention period has expired, "
        "for every active retention rule or the one named with --rule. Rows under a legal hold, open disputes "
        "and still-linked accounts are kept. Each rule's run is recorded in the destruction register "
        "(DestructionRun). --dry-run only counts what would go."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rule", metavar="KEY", help="Only this retention rule (its key, e.g. visit_logs).")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be destroyed; destroy nothing.")
        parser.add_argument(
            "--batch-size", type=int, metavar="N", help="Ids per batch transaction (default RETENTION_BATCH_ROWS)."
        )

    def handle(self, *args, rule=None, dry_run=False, batch_size=None, **options):
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        self.tty = self.stdout.isatty()
        self._last_percent = -1
        try:
            results = destroy_expired(
                rule_key=rule,
                dry_run=dry_run,
                batch_size=batch_size,
                trigger=Trigger.COMMAND,
                actor=SYSTEM,
                on_progress=self._progress,
            )
        except RetentionError as exc:
            raise CommandError(str(exc))
        failed = False
        for result in results:
            if self.tty:
                self.stdout.write("\r\033[K", ending="")
            cutoff = f" cutoff {timezone.localtime(result.cutoff):%Y-%m-%d %H:%M:%S %Z}" if result.cutoff else ""
            self.stdout.write(f"{result.rule}: {result.status}{cutoff} (run #{result.run_id})")
            for label, counts in sorted(result.counts.items()):
                parts = [f"{key} {value}" for key, value in counts.items() if key != "with_parent"]
                with_parent = f" (with {counts['with_parent']})" if "with_parent" in counts else ""
                self.stdout.write(f"  {label}: {', '.join(parts)}{with_parent}")
            if result.batches:
                self.stdout.write(f"  {result.batches} batches, longest {result.longest_batch_ms} ms")
            if result.error:
                self.stdout.write(f"  {result.error}")
            failed = failed or result.status == "failed"
        if failed:
            raise CommandError("At least one rule failed; rerun to finish (committed batches stay destroyed).")

    def _progress(self, run: DestructionRun, label: str, done: int, total: int) -> None:
        percent = int(100 * done / total) if total else 100
        if self.tty:
            width = 30
            filled = width * percent // 100
            bar = "#" * filled + "-" * (width - filled)
            self.stdout.write(f"\r{run.rule_key} [{bar}] {percent:3d}% {label}", ending="")
            self.stdout.flush()
        elif percent // 10 != self._last_percent // 10:
            # Plain lines for logs and pipes: one per 10 %.
            self.stdout.write(f"{run.rule_key}: {percent}% ({label})")
        self._last_percent = percent
