from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ThirdpartyConfig(AppConfig):
    name = "thirdparty"
    verbose_name = _("Third parties (policy 3)")

    def ready(self) -> None:
        from privacyops.lib import hooks

        from .connectors import meta  # noqa: F401  (registers the Meta API version check)
        from .suppression import queue_suppression_jobs
        from .youtube_connect import connected_accounts, disconnect_account

        hooks.marketing_consent_ended.provide(queue_suppression_jobs)
        hooks.connected_accounts.provide(connected_accounts)
        hooks.disconnect_account.provide(disconnect_account)
