"""Who acts: a staff user, or the system itself (beat, management commands, one service calling
another on a subject's behalf).

Every service that changes state takes the acting user and asks `require_permission` before it
writes, so the admin is not the only door that checks: a shell, an API or a future view calling
the same service is refused the same way. The system actor passes every check; it is named so a
caller has to say "this is the system" instead of leaving the actor out.
"""

from __future__ import annotations

from django.utils.translation import gettext


class SystemActor:
    """The named actor of beat and management commands. Not a user: no row, no primary key."""

    pk = None
    id = None
    is_system = True
    is_active = True
    is_authenticated = False
    username = "system"

    def has_perm(self, perm: str, obj=None) -> bool:
        return True

    def has_perms(self, perms, obj=None) -> bool:
        return True

    def __str__(self) -> str:
        return "system"

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = SystemActor()


class PermissionRefused(Exception):
    """The acting user lacks the permission the service asks for."""


def is_system(actor) -> bool:
    return isinstance(actor, SystemActor)


def user_or_none(actor):
    """The user to store in a foreign key: None for the system actor."""
    return None if actor is None or is_system(actor) else actor


def has_permission(actor, perm: str) -> bool:
    if actor is None:
        return False
    if is_system(actor):
        return True
    return bool(getattr(actor, "is_active", False)) and actor.has_perm(perm)


def require_permission(actor, perm: str, *, error: type[Exception] = PermissionRefused, message: str = "") -> None:
    """Raise `error` (the calling app's domain exception, rendered by the admin as a message)
    unless `actor` holds `perm`. No actor at all is refused: a caller names SYSTEM explicitly."""
    if not has_permission(actor, perm):
        raise error(message or gettext("You do not have the permission to do this (%(perm)s).") % {"perm": perm})
