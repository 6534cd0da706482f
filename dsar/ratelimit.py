"""A fixed-window limiter on Django's cache that stores only keyed hashes of what it counts.

An email address or IP never reaches the cache: the key is HMAC-SHA256(SECRET_KEY, kind:value),
so a dump of the cache cannot be turned back into addresses without the secret. Every web process
counts in the same place: the default cache is a database table whose `incr` is atomic
(privacyops.lib.cache), or Redis with CACHE_URL.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.utils import timezone

from privacyops.lib.cache import count_attempt

WINDOW_SECONDS = 3600


def keyed_hash(kind: str, value: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def hit(kind: str, value: str, *, limit: int, window_seconds: int = WINDOW_SECONDS) -> bool:
    """Count one attempt; True while the count in this window is within `limit`."""
    window = int(timezone.now().timestamp()) // window_seconds
    key = f"dsar:rl:{kind}:{keyed_hash(kind, value)}:{window}"
    return count_attempt(key, timeout=window_seconds + 60) <= limit
