from __future__ import annotations

from django.core.management.base import BaseCommand

from thirdparty import services


class Command(BaseCommand):
    help = (
        "Refresh YouTube statistics older than YOUTUBE_REFRESH_AFTER_DAYS through each active OAuth grant "
        "(YouTube Data API), then DELETE every stored statistic fetched more than 30 days ago (YouTube API "
        "Developer Policies III.E.4). A grant whose token Google rejects (invalid_grant / 401) is treated as "
        "revoked: its tokens and statistics are deleted. --dry-run only counts what would be deleted."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count statistics older than 30 days; change nothing."
        )

    def handle(self, *args, dry_run: bool, **options):
        summary = services.refresh_youtube_data(dry_run=dry_run)
        prefix = "dry run: would delete " if dry_run else ""
        self.stdout.write(prefix + " ".join(f"{key}={value}" for key, value in summary.as_dict().items()))
