"""One destruction run per rule at a time.

PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`), released when the run ends or
when its connection dies, so a killed worker never leaves the rule locked.

SQLite has no advisory locks: the run claims the rule row with a conditional UPDATE (the file's
write lock makes the claim atomic) and refreshes a heartbeat after every batch. A claim older than
RETENTION_LOCK_STALE_SECONDS is taken over, so a killed run blocks the rule only that long; a run
that finds its claim taken over stops before its next batch.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from .models import RetentionRule


class LockLost(Exception):
    """Another run took over this rule's lock (ours had gone stale)."""


def advisory_key(rule_key: str) -> int:
    # A stable signed 64-bit number per rule; namespaced so other apps' advisory locks cannot clash.
    digest = hashlib.blake2b(f"retention:{rule_key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class RuleLock:
    def __init__(self, rule: RetentionRule) -> None:
        self.rule = rule
        self.token = uuid.uuid4().hex
        self.acquired = False

    def heartbeat(self) -> None:
        """Call inside each batch's transaction: keeps a SQLite claim fresh, and fails the batch
        when the claim was taken over."""
        if connection.vendor == "postgresql":
            return
        updated = RetentionRule.objects.filter(pk=self.rule.pk, lock_owner=self.token).update(
            lock_heartbeat_at=timezone.now()
        )
        if not updated:
            raise LockLost(f"The lock on rule {self.rule.key} was taken over by another run.")


@contextmanager
def rule_lock(rule: RetentionRule) -> Iterator[RuleLock]:
    """Try to lock the rule without waiting; `lock.acquired` says whether we have it."""
    lock = RuleLock(rule)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [advisory_key(rule.key)])
            lock.acquired = bool(cursor.fetchone()[0])
        try:
            yield lock
        finally:
            if lock.acquired:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [advisory_key(rule.key)])
        return

    now = timezone.now()
    stale = now - timedelta(seconds=settings.RETENTION_LOCK_STALE_SECONDS)
    lock.acquired = bool(
        RetentionRule.objects.filter(pk=rule.pk)
        .filter(Q(lock_owner="") | Q(lock_heartbeat_at__isnull=True) | Q(lock_heartbeat_at__lt=stale))
        .update(lock_owner=lock.token, lock_heartbeat_at=now)
    )
    try:
        yield lock
    finally:
        if lock.acquired:
            RetentionRule.objects.filter(pk=rule.pk, lock_owner=lock.token).update(
                lock_owner="", lock_heartbeat_at=None
            )
