"""The purposes, as each server process last read them (at most PURPOSE_CACHE_SECONDS ago).

Every consent write looks its purpose up by key; the purposes are a handful of rows the privacy
officer edits perhaps once a year, and reading them cost a tenth of the per-person consent
write's CPU (bench/load_public.py). Saving or deleting a purpose empties this process's copy at
once (consent/apps.py); other processes see the change within PURPOSE_CACHE_SECONDS, as with the
API keys and the cookie banner. A key not in the copy is looked up again before it is refused, so
a purpose just added elsewhere is found at once.
"""

from __future__ import annotations

import time

PURPOSE_CACHE_SECONDS = 10

_last_read: tuple[dict, float] | None = None  # ({key: Purpose}, time.monotonic() when read)


def by_key(key: str):
    """The Purpose with this key, or None."""
    from .models import Purpose

    global _last_read
    now = time.monotonic()
    last_read = _last_read  # one read of the global: another thread may replace it meanwhile
    if last_read is None or now - last_read[1] > PURPOSE_CACHE_SECONDS or key not in last_read[0]:
        last_read = ({purpose.key: purpose for purpose in Purpose.objects.all()}, now)
        _last_read = last_read
    return last_read[0].get(key)


def forget_last_read(**_signal_kwargs) -> None:
    global _last_read
    _last_read = None
