"""The admin site, composed from the layers: audit's two-factor sign-in (SA-04) and the access
log of every personal-data page, which wraps each ModelAdmin through the personal-data registry
(SA-06, `subjects/admin_logging.py`)."""

from __future__ import annotations

from audit.sites import TwoFactorAdminSite
from subjects.admin_logging import instrument


class AdminSite(TwoFactorAdminSite):
    """The admin: TOTP sign-in, and handling personal data is written to the access log."""

    def register(self, model_or_iterable, admin_class=None, **options):
        super().register(model_or_iterable, admin_class, **options)
        models = [model_or_iterable] if isinstance(model_or_iterable, type) else model_or_iterable
        for model in models:
            instrument(self._registry[model])

    def get_urls(self):
        from django.urls import path

        from privacyops.datamap import data_map_view

        return [path("datamap/", self.admin_view(data_map_view), name="data_map"), *super().get_urls()]
