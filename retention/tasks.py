"""Celery doors to retention services (thin: ids and strings in, one service call)."""

from __future__ import annotations

from celery import shared_task
from django.contrib.auth import get_user_model

from privacyops.lib.actors import SYSTEM

from . import services
from .models import Trigger


@shared_task(name="retention.tasks.destroy_expired")
def destroy_expired(
    rule_key: str | None = None, dry_run: bool = False, trigger: str = Trigger.BEAT, user_id: int | None = None
) -> list[dict]:
    """Beat calls this daily; the admin's "run now" enqueues it for one rule."""
    # A user who asked ("run now") must still hold the permission when the task runs; beat is the system.
    actor = get_user_model().objects.filter(pk=user_id).first() if user_id else SYSTEM
    results = services.destroy_expired(rule_key=rule_key, dry_run=dry_run, trigger=trigger, actor=actor)
    return [{"rule": r.rule, "status": r.status, "run_id": r.run_id} for r in results]
