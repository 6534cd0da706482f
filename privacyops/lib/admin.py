"""Admin building blocks shared by the apps."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy

from .crypto import UNDECRYPTABLE_LABEL, EncryptedTextField, is_undecryptable


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ledgers and registers: staff read them; rows are written by services only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def undecryptable_fields(obj) -> list[str]:
    """Names of the obj's encrypted fields that no configured key decrypts."""
    return [
        field.name
        for field in obj._meta.concrete_fields
        if isinstance(field, EncryptedTextField) and is_undecryptable(getattr(obj, field.attname))
    ]


class EncryptedValuesMixin:
    """For admins of models with encrypted fields, which they never show: an "encrypted values"
    column that says when a row's secrets cannot be decrypted (encrypted under a key that is no
    longer configured). Add "encrypted_values" to list_display and readonly_fields."""

    @admin.display(description=gettext_lazy("encrypted values"))
    def encrypted_values(self, obj):
        return UNDECRYPTABLE_LABEL if undecryptable_fields(obj) else None
