from __future__ import annotations

from django_otp import devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite

from .admin_logging import instrument


class AdminLoginForm(OTPAdminAuthenticationForm):
    """Username, password and the 6-digit code on one page. django-otp asks which device the code
    comes from; staff have one authenticator each, so that one is used without asking."""

    def _chosen_device(self, user):
        device = super()._chosen_device(user)
        if device is None and not self.cleaned_data.get("otp_device"):
            devices = list(devices_for_user(user, confirmed=True, for_verify=True))
            if len(devices) == 1:
                return devices[0]
        return device


class AuditedAdminSite(OTPAdminSite):
    """The admin: staff must pass a TOTP second factor (SA-04), and every ModelAdmin is wrapped
    so that handling personal data is written to the access log (SA-06)."""

    login_form = AdminLoginForm

    def __init__(self, name: str = "admin"):
        # OTPAdminSite defaults to "otpadmin"; the URL namespace everyone reverses is "admin".
        super().__init__(name)

    def register(self, model_or_iterable, admin_class=None, **options):
        super().register(model_or_iterable, admin_class, **options)
        models = [model_or_iterable] if isinstance(model_or_iterable, type) else model_or_iterable
        for model in models:
            instrument(self._registry[model])
