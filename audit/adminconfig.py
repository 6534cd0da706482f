"""Replaces "django.contrib.admin" in INSTALLED_APPS so that `admin.site` is the audited,
two-factor admin site. Kept apart from audit/apps.py (Django picks an app's config by the
AppConfig subclasses in its apps module) and free of model imports (loaded before the registry)."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class AuditAdminConfig(AdminConfig):
    default_site = "audit.sites.AuditedAdminSite"
