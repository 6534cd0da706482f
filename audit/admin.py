from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from .models import ApiClient, ApiScope


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"), choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = ApiClient
        fields = ["name", "scopes", "active"]


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    form = ApiClientForm
    list_display = ["name", "key_prefix", "active", "created_at", "last_used_at"]
    list_filter = ["active"]
    search_fields = ["name", "key_prefix"]
    readonly_fields = ["key_prefix", "created_at", "last_used_at"]
    actions = ["rotate_key"]

    def save_model(self, request, obj, form, change):
        raw_key = obj.issue_key() if not change else None
        super().save_model(request, obj, form, change)
        if raw_key:
            self._show_key_once(request, obj, raw_key)

    @admin.action(description=_("Issue a new key (the old one stops working)"))
    def rotate_key(self, request, queryset):
        for client in queryset:
            raw_key = client.issue_key()
            client.save(update_fields=["key_prefix", "key_hash"])
            self._show_key_once(request, client, raw_key)

    def _show_key_once(self, request, client, raw_key):
        messages.warning(
            request,
            _("Key for %(name)s (shown once, copy it now): %(key)s") % {"name": client.name, "key": raw_key},
        )
