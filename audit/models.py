from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiScope(models.TextChoices):
    VISITS_WRITE = "visits:write", _("Record visits")
    INQUIRIES_WRITE = "inquiries:write", _("Record customer-service inquiries")
    CONSENT_READ = "consent:read", _("Read consent state")
    CONSENT_WRITE = "consent:write", _("Record consent")


def hash_api_key(raw_key: str) -> str:
    # Keys are long random strings, so a fast unsalted hash is enough and allows an indexed lookup.
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiClientQuerySet(models.QuerySet):
    def authenticate(self, raw_key: str) -> ApiClient | None:
        if not raw_key or len(raw_key) > 200:
            return None
        client = self.filter(key_hash=hash_api_key(raw_key), active=True).first()
        if client is not None:
            # One cheap UPDATE; last use tells staff which keys are dead and can be revoked.
            type(client).objects.filter(pk=client.pk).update(last_used_at=timezone.now())
        return client


class ApiClient(models.Model):
    """Another company service that calls the JSON API with its own key (stored hashed)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    key_prefix = models.CharField(_("key prefix"), max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    objects = ApiClientQuerySet.as_manager()

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    def issue_key(self) -> str:
        """Give the client a new key; the raw key is returned once and never stored."""
        raw_key = "po_" + secrets.token_urlsafe(32)
        self.key_prefix = raw_key[:10]
        self.key_hash = hash_api_key(raw_key)
        return raw_key

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])
