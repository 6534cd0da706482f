from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from subjects.registry import registry


class RetentionConfig(AppConfig):
    name = "retention"
    verbose_name = _("Retention and destruction (policy 4)")

    def ready(self) -> None:
        # In ready(), not at the top: these import models, which are not loaded yet when Django
        # imports this module.
        from . import checks  # noqa: F401  (registers the system check on rule keys)
        from .holds import any_held, exclude_held

        # Every deletion path (this app's engine, DSAR erasure, admin deletes) asks the registry
        # which rows may go; a legal hold answers inside the same SQL statement.
        registry.add_deletion_guard(exclude_held, protects_any=any_held)
