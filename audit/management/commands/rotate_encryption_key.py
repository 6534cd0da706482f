from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from audit.services import AuditError, KeyRotationReport, rotate_encryption_key


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column (OAuth tokens, vendor-job identifiers: every EncryptedTextField "
        "of every model) under the first, newest key of FIELD_ENCRYPTION_KEYS, so the older keys can then be "
        "removed. Each table is walked by primary key in batches, each its own transaction; only the "
        "encrypted columns of rows under an older key are updated, and a row written meanwhile is re-read, "
        "never overwritten. Values no configured key decrypts are left as they are and listed by model, id "
        "and field (never the values). --dry-run only counts. Exits with status 1 when rows changed under "
        "it on every try (run it again)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be re-encrypted and what cannot be decrypted."
        )
        parser.add_argument("--batch-size", type=int, default=500, metavar="N", help="Rows per transaction (500).")

    def handle(self, *args, dry_run: bool = False, batch_size: int = 500, **options):
        self.tty = self.stderr.isatty()
        try:
            report = rotate_encryption_key(batch_size=batch_size, dry_run=dry_run, on_progress=self._progress)
        except AuditError as exc:
            raise CommandError(str(exc))
        if self.tty:
            self.stderr.write("")
        self._print(report)
        if report.contended:
            raise CommandError(
                f"{len(report.contended)} row(s) changed during the run on every try and were not re-encrypted: "
                "run the command again before removing an old key."
            )

    def _progress(self, label: str, done: int, total: int, report: KeyRotationReport) -> None:
        counts = report.by_model[label]
        line = (
            f"{label}: {done}/{max(total, done)} rows, {counts['rotated']} re-encrypted, "
            f"{counts['undecryptable']} undecryptable"
        )
        if self.tty:
            width = 30
            filled = width * done // total if total else width
            self.stderr.write(f"\r\033[K[{'#' * filled}{'-' * (width - filled)}] {line}", ending="")
            self.stderr.flush()
        else:
            self.stderr.write(line)

    def _print(self, report: KeyRotationReport) -> None:
        would = "would be " if report.dry_run else ""
        for label, counts in report.by_model.items():
            self.stdout.write(
                f"{label}: {counts['rows']} rows, {counts['rotated']} value(s) {would}re-encrypted, "
                f"{counts['current']} already under the newest key, {counts['undecryptable']} undecryptable"
            )
        for label, pk, name in report.undecryptable:
            self.stdout.write(f"  cannot be decrypted with any configured key: {label} id={pk} field={name}")
        summary = (
            f"{report.total('rows')} rows checked, {report.total('rotated')} value(s) {would}re-encrypted, "
            f"{report.total('current')} already current, {report.total('undecryptable')} undecryptable."
        )
        self.stdout.write(f"Longest batch transaction: {report.longest_batch_ms} ms.")
        if report.dry_run:
            self.stdout.write("Dry run, nothing changed: " + summary)
        elif report.undecryptable:
            self.stdout.write(
                self.style.WARNING(
                    summary + " The undecryptable values were encrypted under a key that is not configured; "
                    "removing the old keys does not change them (restore that key to read them, or revoke / close "
                    "what holds them)."
                )
            )
        else:
            self.stdout.write(self.style.SUCCESS(summary))
