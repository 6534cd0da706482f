from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Breach response (PIPA art. 34)")

    def ready(self) -> None:
        from privacyops.lib import hooks

        from .posting import live_postings

        # The policy page links to the breach notices posted on the website (PIPA art. 34(3)).
        hooks.live_incident_postings.provide(live_postings)
