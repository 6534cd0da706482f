from __future__ import annotations

from django_otp.admin import OTPAdminSite

from .admin_logging import instrument


class AuditedAdminSite(OTPAdminSite):
    """The admin: staff must pass a TOTP second factor (SA-04), and every ModelAdmin is wrapped
    so that handling personal data is written to the access log (SA-06)."""

    def __init__(self, name: str = "admin"):
        # OTPAdminSite defaults to "otpadmin"; the URL namespace everyone reverses is "admin".
        super().__init__(name)

    def register(self, model_or_iterable, admin_class=None, **options):
        super().register(model_or_iterable, admin_class, **options)
        models = [model_or_iterable] if isinstance(model_or_iterable, type) else model_or_iterable
        for model in models:
            instrument(self._registry[model])
