from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _freeze_seeded_versions(sender, using="default", **kwargs) -> None:
    # After every app has migrated (and seeded), so the seed version's text is rendered from
    # the other apps' live models and the registry; see services.freeze_unfrozen_versions.
    from .services import freeze_unfrozen_versions

    freeze_unfrozen_versions()


class PolicyConfig(AppConfig):
    name = "policy"
    verbose_name = _("Published policy (policy 6, 7)")

    def ready(self) -> None:
        from privacyops.lib.hooks import set_policy_version_provider
        from subjects.registry import DataCategory, Erase, Retention, registry

        from .models import PolicyNoticeDelivery
        from .services import current_version_label

        set_policy_version_provider(current_version_label)
        registry.register(
            PolicyNoticeDelivery,
            subject_path="subject",
            category=DataCategory.IDENTITY_AND_CONTACT,
            # Nothing is collected: the record only says which notice went to the address held.
            sources=[],
            export_fields=["status", "sent_at"],
            erase=Erase.delete(),
            retention=[Retention(rule="policy_notices", runs_from="queued_at")],
        )
        # Connected for this app only, i.e. once per migrate run, after all apps' migrations.
        post_migrate.connect(_freeze_seeded_versions, sender=self, dispatch_uid="policy_freeze_seeded_versions")
