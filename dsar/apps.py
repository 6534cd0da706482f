from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from privacyops.lib import hooks


class DsarConfig(AppConfig):
    name = "dsar"
    verbose_name = _("Data subject requests")

    def ready(self) -> None:
        # In ready(), not at the top: services import models, which are not loaded yet when Django
        # imports this module.
        from .services import download_reason_names_a_request

        # The monthly access-log review accepts a download whose reason names a real request.
        hooks.download_reason_names_a_request.provide(download_reason_names_a_request)
