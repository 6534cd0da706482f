"""Who is acting, for code that has no request at hand (signal handlers, services).

`AuditContextMiddleware` sets it for each request; management commands and tasks leave it empty,
so the rights log shows "system" for changes made by migrate or a script.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Actor:
    user: Any | None
    ip: str | None


_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("audit_actor", default=None)


def current_actor() -> Actor | None:
    return _actor.get()


def current_user() -> Any | None:
    """The authenticated account acting now, or None (anonymous, or no request)."""
    actor = _actor.get()
    if actor is None or actor.user is None:
        return None
    user = actor.user
    # The middleware passes a lazy handle so that requests which log nothing load no account.
    return user.resolve() if hasattr(user, "resolve") else user


@contextmanager
def acting(user: Any | None, ip: str | None) -> Iterator[None]:
    token = _actor.set(Actor(user=user, ip=ip))
    try:
        yield
    finally:
        _actor.reset(token)
