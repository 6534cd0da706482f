from __future__ import annotations

from datetime import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_otp import devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.forms import OTPAuthenticationFormMixin


class CodeInput(forms.TextInput):
    """The code field starts empty after a refusal: the code typed is spent either way."""

    def format_value(self, value):
        return None


class AdminLoginForm(OTPAdminAuthenticationForm):
    """Username, password and the 6-digit code on one page. django-otp asks which device the code
    comes from; staff have one authenticator each, so that one is used without asking.

    django-otp's own texts ("OTP Token", "Invalid token") are replaced by words staff use, in
    Korean and English, and a wrong code says when the next try is possible: django-otp makes
    each try after a failure wait 1, 2, 4, 8... seconds (the device's throttling fields)."""

    otp_token = forms.CharField(
        label=_("Authentication code"),
        required=False,
        help_text=_("The 6-digit code your authenticator app shows for privacyops."),
        widget=CodeInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": "8", "spellcheck": "false"}
        ),
    )
    otp_device = forms.CharField(label=_("Authenticator"), required=False, widget=forms.Select)

    otp_error_messages = dict(
        OTPAuthenticationFormMixin.otp_error_messages,
        token_required=_("Enter the 6-digit code from your authenticator app."),
        invalid_token=_("This code is not right. Enter the code your authenticator app shows now."),
        verification_not_allowed=_("Codes cannot be checked for this account right now; try again in a minute."),
        device_required=_("Choose the authenticator the code comes from."),
        not_interactive=_("This authenticator shows its codes itself; enter the code it shows."),
    )

    def _chosen_device(self, user):
        device = super()._chosen_device(user)
        if device is None and not self.cleaned_data.get("otp_device"):
            devices = list(devices_for_user(user, confirmed=True, for_verify=True))
            if len(devices) == 1:
                return devices[0]
        return device

    def _verify_token(self, user, token, device=None):
        if device is not None:
            allowed, extra = device.verify_is_allowed()
            if not allowed and (extra or {}).get("locked_until"):
                raise forms.ValidationError(_wait_message(extra["locked_until"], wrong=False), code="throttled")
        try:
            return super()._verify_token(user, token, device)
        except forms.ValidationError as error:
            if device is None or error.code != "invalid_token":
                raise
            # The failure just counted: say from when the next code is checked.
            allowed, extra = device.verify_is_allowed()
            if allowed or not (extra or {}).get("locked_until"):
                raise
            raise forms.ValidationError(
                _wait_message(extra["locked_until"], wrong=True), code="invalid_token"
            ) from None

    @property
    def asks_for_device(self) -> bool:
        """Whether to show the authenticator choice: only to someone with more than one."""
        choices = getattr(self.fields["otp_device"].widget, "choices", [])
        return len([value for value, _label in choices if value]) > 1


def _wait_message(until: datetime, *, wrong: bool) -> str:
    seconds = max(1, round((until - timezone.now()).total_seconds()))
    when = timezone.localtime(until).strftime("%H:%M:%S")
    wait = gettext("You can enter a code again from %(time)s (wait: %(seconds)d s).") % {
        "seconds": seconds,
        "time": when,
    }
    if wrong:
        return f"{gettext('This code is not right.')} {wait}"
    return f"{gettext('A wrong code was entered just before, so codes are not checked for a moment.')} {wait}"


class TwoFactorAdminSite(OTPAdminSite):
    """An admin site whose staff must pass a TOTP second factor (SA-04). The project's admin
    (`privacyops/admin_site.py`) adds the access log on top."""

    login_form = AdminLoginForm
    # The admin's own sign-in page with the code field, in the admin's language.
    login_template = "audit/login.html"

    def __init__(self, name: str = "admin"):
        # OTPAdminSite defaults to "otpadmin"; the URL namespace everyone reverses is "admin".
        super().__init__(name)
