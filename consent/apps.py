from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext_lazy as _


def _ensure_seeded(sender, using="default", **kwargs) -> None:
    # A flush (TransactionTestCase teardown, a schema-only restore) removes the rows the data
    # migration created; post_migrate runs after each flush, so the purposes other apps rely on
    # come back. Existing rows are left as staff edited them.
    from .models import CookieCategory, Purpose
    from .seed import ensure_seeded

    class _Using:
        def __init__(self, model):
            self.objects = model.objects.db_manager(using)

    ensure_seeded(_Using(Purpose), _Using(CookieCategory))


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = _("Consent (policy 2)")

    def ready(self) -> None:
        from subjects.models import CollectionSource
        from subjects.registry import DataCategory, Erase, Retention, registry

        from . import banner
        from .models import ConsentEvent, ConsentState, CookieCategory, MarketingNotice

        post_migrate.connect(_ensure_seeded, sender=self, dispatch_uid="consent.ensure_seeded")
        # An edited category gives a new banner version in this process at once (banner.current).
        post_save.connect(banner.forget_last_read, sender=CookieCategory, dispatch_uid="consent.banner_on_save")
        post_delete.connect(banner.forget_last_read, sender=CookieCategory, dispatch_uid="consent.banner_on_delete")

        # Consent evidence is kept for the life of the consent plus a proof period (rule
        # "consent_records", set by the company: 3 years after the answer stopped being current;
        # a live grant has no end, so it is never due). A person's erasure deletes it outright:
        # once the person is gone nothing is sent to them, so there is nothing left to prove, and
        # a ledger row without its person proves nothing anyway. The retention engine deletes
        # with QuerySet._raw_delete, which the ledger's refusing delete() does not intercept.
        consent_sources = [
            CollectionSource.DATA_SUBJECT_REQUEST,
            CollectionSource.CUSTOMER_SERVICE,
            CollectionSource.AUTOMATIC,
        ]
        registry.register(
            ConsentEvent,
            subject_path="subject",
            category=DataCategory.CONSENT_RECORDS,
            sources=consent_sources,
            export_fields=[
                "purpose",
                "action",
                "channel",
                "policy_version",
                "notice_sha256",
                "ip",
                "user_agent",
                "night_time",
                "gpc",
                "occurred_at",
                "ended_at",
            ],
            erase=Erase.delete(),
            retention=[Retention(rule="consent_records", runs_from="ended_at")],
        )
        registry.register(
            ConsentState,
            subject_path="subject",
            category=DataCategory.CONSENT_RECORDS,
            sources=consent_sources,
            export_fields=[
                "purpose",
                "granted",
                "action",
                "channel",
                "night_time",
                "changed_at",
                "confirmed_at",
                "reconfirm_due_at",
                "reconfirmation_sent_at",
                "ended_at",
            ],
            erase=Erase.delete(),
            retention=[Retention(rule="consent_records", runs_from="ended_at")],
        )
        registry.register(
            MarketingNotice,
            subject_path="subject",
            category=DataCategory.CONSENT_RECORDS,
            sources=[CollectionSource.DATA_SUBJECT_REQUEST],
            export_fields=["kind", "purpose", "anniversary_at", "sent_at"],
            erase=Erase.delete(),
            retention=[Retention(rule="consent_records", runs_from="sent_at")],
        )
