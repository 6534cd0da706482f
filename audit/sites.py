from __future__ import annotations

from django_otp import devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite


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


class TwoFactorAdminSite(OTPAdminSite):
    """An admin site whose staff must pass a TOTP second factor (SA-04). The project's admin
    (`privacyops/admin_site.py`) adds the access log on top."""

    login_form = AdminLoginForm

    def __init__(self, name: str = "admin"):
        # OTPAdminSite defaults to "otpadmin"; the URL namespace everyone reverses is "admin".
        super().__init__(name)
