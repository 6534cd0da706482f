"""Replaces "django.contrib.admin" in INSTALLED_APPS so that `admin.site` is the project's
audited, two-factor admin site (`privacyops/admin_site.py`). Free of model imports: Django loads
it with INSTALLED_APPS, before any model."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    default_site = "privacyops.admin_site.AdminSite"

    def ready(self) -> None:
        super().ready()
        # The project's own checks: the rate limits (request form, cookie API) count in the default
        # cache, and `check --deploy` warns when that cache is per process.
        from privacyops.lib import cache  # noqa: F401
