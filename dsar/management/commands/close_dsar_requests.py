from __future__ import annotations

from django.core.management.base import BaseCommand

from dsar.jobs import close_dsar_requests


class Command(BaseCommand):
    help = (
        "Close each request that waits for processors once none of its vendor erasure or suppression "
        "jobs is open, and email the requester the result."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"requests closed: {close_dsar_requests()}")
