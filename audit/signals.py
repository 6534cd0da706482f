"""The access-rights log (SA-02c): every grant, change or removal of an account's roles,
permissions, staff, superuser or active flag, with who made it. Users and groups are
low-volume tables, so model signals are acceptable here; `QuerySet.update()` on users bypasses
them (nothing in the project does that)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from .context import current_user
from .models import ApiClient, RightsChange, forget_recent_keys
from .services import record_rights_changes

_FLAGS = {
    "is_staff": (RightsChange.STAFF_GRANTED, RightsChange.STAFF_REVOKED),
    "is_superuser": (RightsChange.SUPERUSER_GRANTED, RightsChange.SUPERUSER_REVOKED),
    "is_active": (RightsChange.ACTIVATED, RightsChange.DEACTIVATED),
}


def _perm_label(permission: Permission) -> str:
    return f"{permission.content_type.app_label}.{permission.codename}"


def remember_flags(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & set(_FLAGS):
        return  # a last_login update at each login: nothing to compare
    instance._audit_old_flags = sender._default_manager.filter(pk=instance.pk).values(*_FLAGS).first()


def log_flag_changes(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    changes = []
    if created:
        changes.append((RightsChange.ACCOUNT_CREATED, instance, "", ""))
        old = dict.fromkeys(_FLAGS, False) | {"is_active": True}
    else:
        old = getattr(instance, "_audit_old_flags", None)
        instance._audit_old_flags = None
        if old is None:
            return
    for flag, (granted, revoked) in _FLAGS.items():
        before, after = bool(old[flag]), bool(getattr(instance, flag))
        if before != after:
            changes.append((granted if after else revoked, instance, "", ""))
    if changes:
        record_rights_changes(actor=current_user(), changes=changes)


def log_account_deleted(sender, instance, **kwargs):
    record_rights_changes(actor=current_user(), changes=[(RightsChange.ACCOUNT_DELETED, instance, "", "")])


def _m2m(instance, action, reverse, model, pk_set, *, field: str):
    """The (user, related object) pairs an m2m change touched, in the forward direction."""
    if action == "pre_clear":
        # After the clear the rows are gone: remember them now.
        manager = getattr(instance, _reverse_name(field) if reverse else field)
        instance._audit_cleared = list(_with_content_type(manager.all()))
        return None
    if action == "post_clear":
        related = getattr(instance, "_audit_cleared", None) or []
        instance._audit_cleared = None
    elif action in ("post_add", "post_remove"):
        related = list(_with_content_type(model._default_manager.filter(pk__in=pk_set or ())))
    else:
        return None
    return [(related_obj, instance) if reverse else (instance, related_obj) for related_obj in related]


def _with_content_type(queryset):
    return queryset.select_related("content_type") if queryset.model is Permission else queryset


def _reverse_name(field: str) -> str:
    return {"groups": "user_set", "user_permissions": "user_set", "permissions": "group_set"}[field]


def log_user_groups(sender, instance, action, reverse, model, pk_set, **kwargs):
    pairs = _m2m(instance, action, reverse, model, pk_set, field="groups")
    if not pairs:
        return
    change = RightsChange.GROUP_REMOVED if action != "post_add" else RightsChange.GROUP_ADDED
    record_rights_changes(actor=current_user(), changes=[(change, user, group.name, "") for user, group in pairs])


def log_user_permissions(sender, instance, action, reverse, model, pk_set, **kwargs):
    pairs = _m2m(instance, action, reverse, model, pk_set, field="user_permissions")
    if not pairs:
        return
    change = RightsChange.PERMISSION_REMOVED if action != "post_add" else RightsChange.PERMISSION_ADDED
    record_rights_changes(actor=current_user(), changes=[(change, user, "", _perm_label(perm)) for user, perm in pairs])


def log_group_permissions(sender, instance, action, reverse, model, pk_set, **kwargs):
    pairs = _m2m(instance, action, reverse, model, pk_set, field="permissions")
    if not pairs:
        return
    change = RightsChange.ROLE_PERMISSION_REMOVED if action != "post_add" else RightsChange.ROLE_PERMISSION_ADDED
    record_rights_changes(
        actor=current_user(), changes=[(change, None, group.name, _perm_label(perm)) for group, perm in pairs]
    )


def connect() -> None:
    User = get_user_model()
    pre_save.connect(remember_flags, sender=User, dispatch_uid="audit.remember_flags")
    post_save.connect(log_flag_changes, sender=User, dispatch_uid="audit.log_flag_changes")
    post_delete.connect(log_account_deleted, sender=User, dispatch_uid="audit.log_account_deleted")
    m2m_changed.connect(log_user_groups, sender=User.groups.through, dispatch_uid="audit.log_user_groups")
    m2m_changed.connect(
        log_user_permissions, sender=User.user_permissions.through, dispatch_uid="audit.log_user_permissions"
    )
    m2m_changed.connect(
        log_group_permissions, sender=Group.permissions.through, dispatch_uid="audit.log_group_permissions"
    )
    # A revoked, rotated or re-scoped API key stops working in this process at once.
    post_save.connect(forget_recent_keys, sender=ApiClient, dispatch_uid="audit.forget_recent_keys_on_save")
    post_delete.connect(forget_recent_keys, sender=ApiClient, dispatch_uid="audit.forget_recent_keys_on_delete")
