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

        _name_third_party_apps()


def _name_third_party_apps() -> None:
    """django-axes names its app and django-otp its TOTP device from code, not through gettext:
    give them names the admin can show in Korean."""
    from django.apps import apps

    from privacyops.lib import third_party_labels as labels

    if apps.is_installed("axes"):
        apps.get_app_config("axes").verbose_name = labels.SIGN_IN_LOCKOUT
    if apps.is_installed("django_otp.plugins.otp_totp"):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        TOTPDevice._meta.verbose_name = labels.TOTP_DEVICE
        TOTPDevice._meta.verbose_name_plural = labels.TOTP_DEVICES
