"""/healthz: is the database answering, and is the broker reachable?"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

BROKER_TIMEOUT_SECONDS = 2


def database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # any driver error means "down"; the type is enough for an operator
        return f"down ({type(exc).__name__})"


def broker_state() -> str:
    # A fresh connection each time: a pooled one could report a broker that has since gone away.
    try:
        with Connection(settings.CELERY_BROKER_URL, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)
        return "ok"
    except Exception as exc:
        return f"down ({type(exc).__name__})"


@never_cache
@require_GET
def healthz(request):
    state = {"database": database_state(), "broker": broker_state()}
    healthy = all(value == "ok" for value in state.values())
    return JsonResponse({"status": "ok" if healthy else "down", **state}, status=200 if healthy else 503)


@never_cache
@require_GET
def live(request):
    """Liveness: the process answers. No database, no broker (those are /healthz)."""
    return HttpResponse("ok", content_type="text/plain")
