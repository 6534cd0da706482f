"""Several workers reserving GA slots at once never exceed the property's quota together."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from thirdparty import services
from thirdparty.models import RateLimitState


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_get_distinct_slots_spaced_by_the_rate_and_capped_by_the_day(settings):
    settings.GA_PROPERTY_ID = "123456789"
    settings.GA_REQUESTS_PER_SECOND = 1.5
    settings.GA_REQUESTS_PER_DAY = 30
    settings.GA_MAX_INLINE_WAIT_SECONDS = 3600
    granted, refused, errors = [], [], []
    lock = threading.Lock()

    def worker():
        try:
            for _ in range(6):
                slot = services.reserve_ga_slot()
                with lock:
                    (granted if slot.granted else refused).append(slot)
        except Exception as exc:  # a database-locked error would be a pacing failure
            errors.append(repr(exc))
        finally:
            connection.close()

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

    assert errors == []
    assert len(granted) == 30 and len(refused) == 18
    times = sorted(slot.at for slot in granted)
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert min(gaps) >= timedelta(seconds=1 / 1.5) - timedelta(microseconds=1)
    assert RateLimitState.objects.get(key="ga:123456789").sent_today == 30
