from __future__ import annotations

from django.core.management.base import BaseCommand

from thirdparty import services


class Command(BaseCommand):
    help = (
        "Call Google's OAuth revoke endpoint again for disconnected YouTube grants whose previous call timed "
        "out or failed and whose next attempt is due. On Google's confirmation the stored (encrypted) tokens "
        "are DELETED; otherwise the next attempt is scheduled with backoff, and after VENDOR_JOB_MAX_ATTEMPTS "
        "the grant waits on the officer's desk."
    )

    def handle(self, *args, **options):
        counts = services.retry_youtube_revocations()
        self.stdout.write(" ".join(f"{key}={value}" for key, value in counts.items()))
