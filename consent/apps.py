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
        from . import banner, purposes
        from .models import CookieCategory, Purpose

        post_migrate.connect(_ensure_seeded, sender=self, dispatch_uid="consent.ensure_seeded")
        # An edited category gives a new banner version in this process at once (banner.current).
        post_save.connect(banner.forget_last_read, sender=CookieCategory, dispatch_uid="consent.banner_on_save")
        post_delete.connect(banner.forget_last_read, sender=CookieCategory, dispatch_uid="consent.banner_on_delete")
        # An edited purpose is seen by this process's next consent write (purposes.by_key).
        post_save.connect(purposes.forget_last_read, sender=Purpose, dispatch_uid="consent.purposes_on_save")
        post_delete.connect(purposes.forget_last_read, sender=Purpose, dispatch_uid="consent.purposes_on_delete")
