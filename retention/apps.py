from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RetentionConfig(AppConfig):
    name = "retention"
    verbose_name = _("Retention and destruction (policy 4)")

    def ready(self) -> None:
        from subjects.registry import registry

        from .holds import exclude_held

        # Every deletion path (this app's engine, DSAR erasure, admin deletes) asks the registry
        # which rows may go; a legal hold answers inside the same SQL statement.
        registry.add_deletion_guard(exclude_held)
