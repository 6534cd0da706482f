from __future__ import annotations

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def sync_roles_after_migrate(sender, **kwargs) -> None:
    # post_migrate is sent once per app; the roles need every app's permissions, which exist
    # once the last app's signal has gone out (auth's create_permissions ran before this receiver).
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if not with_models or sender is not with_models[-1]:
        return
    from .services import sync_roles

    sync_roles()


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Protection and audit")
    default = True

    def ready(self) -> None:
        from . import signals

        signals.connect()
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="audit.sync_roles")
