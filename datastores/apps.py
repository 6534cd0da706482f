from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DatastoresConfig(AppConfig):
    name = "datastores"
    verbose_name = _("The company's other databases (data map)")

    def ready(self) -> None:
        from privacyops.lib import hooks

        from .destruction import destroy_external, rules_with_tables

        # retention (below this app) asks for the declared tables' runs under a rule through this hook.
        hooks.external_destruction.provide(destroy_external)
        hooks.external_rules.provide(rules_with_tables)
