from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext_lazy as _

from privacyops.lib import hooks


def _freeze_seeded_versions(sender, using="default", **kwargs) -> None:
    # After every app has migrated (and seeded), so the seed version's text is rendered from
    # the other apps' live models and the registry; see services.freeze_unfrozen_versions.
    from .services import freeze_unfrozen_versions

    freeze_unfrozen_versions()


class PolicyConfig(AppConfig):
    name = "policy"
    verbose_name = _("Published policy (policy 6, 7)")

    def ready(self) -> None:
        # In ready(), not at the top: services import models, which are not loaded yet when Django
        # imports this module.
        from .models import PolicyVersion
        from .services import current_version_label, forget_version_label, processor_unstated

        hooks.current_policy_version.provide(current_version_label)
        hooks.processor_unstated.provide(processor_unstated)
        post_save.connect(forget_version_label, sender=PolicyVersion, dispatch_uid="policy.version_on_save")
        post_delete.connect(forget_version_label, sender=PolicyVersion, dispatch_uid="policy.version_on_delete")
        # Connected for this app only, i.e. once per migrate run, after all apps' migrations.
        post_migrate.connect(_freeze_seeded_versions, sender=self, dispatch_uid="policy_freeze_seeded_versions")
