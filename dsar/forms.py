"""The public request form and the staff forms of the admin workflow page."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from .models import (
    ACCESS_GROUNDS,
    SUSPENSION_GROUNDS,
    RequestChannel,
    StatutoryGround,
    enabled_request_types,
    grounds_for,
)

# Sniffed from the first bytes, not trusted from the name or the browser's content type.
MAGIC_BYTES = {
    "pdf": (b"%PDF-",),
    "jpg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
}
EXTENSIONS = {"pdf": "pdf", "jpg": "jpg", "jpeg": "jpg", "png": "png"}


def oversize_message(size: int | None = None) -> str:
    """`size` None: the file was dropped while it arrived, so only "over the limit" is known."""
    limit = filesizeformat(settings.DSAR_UPLOAD_MAX_BYTES)
    if size is None:
        return _(
            "The file is too large: the limit is %(limit)s. Choose a smaller file; everything else you entered is kept."
        ) % {"limit": limit}
    return _(
        "The file is too large (%(size)s). The limit is %(limit)s. Choose a smaller file; "
        "everything else you entered is kept."
    ) % {"size": filesizeformat(size), "limit": limit}


def sniff_document(upload) -> str:
    """The kind of an uploaded document ("pdf", "jpg", "png"), or a ValidationError a person can act on."""
    if upload.size > settings.DSAR_UPLOAD_MAX_BYTES:
        raise forms.ValidationError(oversize_message(upload.size), code="too_large")
    if upload.size == 0:
        raise forms.ValidationError(_("The file is empty."), code="empty")
    extension = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
    claimed = EXTENSIONS.get(extension)
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    actual = next((kind for kind, magics in MAGIC_BYTES.items() if head.startswith(magics)), None)
    if claimed is None or actual is None or claimed != actual:
        raise forms.ValidationError(
            _("Upload a PDF, JPEG or PNG file (the file's content did not match one of these)."), code="wrong_type"
        )
    return actual


class RequestForm(forms.Form):
    request_type = forms.ChoiceField(label=_("What do you want us to do?"), widget=forms.RadioSelect, choices=())
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(
        label=_("Your email address"),
        max_length=254,
        help_text=_("We send a link to this address to confirm the request."),
    )
    phone = forms.CharField(label=_("Phone (optional)"), max_length=40, required=False)
    details = forms.CharField(
        label=_("Details (optional)"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For a correction, say what is wrong and what it should be."),
    )
    purposes = forms.MultipleChoiceField(
        label=_("Only for these purposes (suspension or withdrawal; none ticked: all)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("%(value)s is not one of the purposes listed in the privacy policy.")},
    )
    is_agent = forms.BooleanField(label=_("I am making this request for someone else (as their agent)"), required=False)
    agent_name = forms.CharField(label=_("Agent's name"), max_length=200, required=False)
    agent_email = forms.EmailField(
        label=_("Agent's email"),
        max_length=254,
        required=False,
        help_text=_("We send the confirmation link and our answer to the agent."),
    )
    agent_phone = forms.CharField(label=_("Agent's phone (optional)"), max_length=40, required=False)
    agent_relationship = forms.CharField(label=_("Relationship to the person"), max_length=100, required=False)
    power_of_attorney = forms.FileField(
        label=_("Power of attorney"),
        required=False,
        help_text=_("Signed by the person you act for: PDF, JPEG or PNG."),
    )

    def __init__(self, *args, dropped_files: frozenset[str] = frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["request_type"].choices = enabled_request_types()
        self.fields["power_of_attorney"].widget.attrs["accept"] = ".pdf,.jpg,.jpeg,.png"
        # A callable: read when the form is shown or a ticked purpose is checked, not for the
        # requests that tick none (most of them), which then cost no query for it.
        self.fields["purposes"].choices = self._purpose_choices
        # Files the view dropped while they arrived, being over the limit (dsar.views.DropOversizeFile).
        self.dropped_files = dropped_files

    @cached_property
    def _purposes(self) -> list:
        from consent.models import Purpose  # here: forms load before the apps are ready

        return list(Purpose.objects.all())

    @property
    def _consent_purposes(self) -> set[str]:
        return {p.key for p in self._purposes if p.consent_required}

    def _purpose_choices(self) -> list[tuple[str, str]]:
        return [(p.key, p.localized_name) for p in self._purposes]

    def clean_power_of_attorney(self):
        if "power_of_attorney" in self.dropped_files:
            raise forms.ValidationError(oversize_message(), code="too_large")
        upload = self.cleaned_data.get("power_of_attorney")
        if upload:
            sniff_document(upload)
        return upload

    def clean(self):
        data = super().clean()
        purposes = data.get("purposes") or []
        kind = data.get("request_type")
        if purposes and kind not in ("suspension", "withdrawal"):
            self.add_error("purposes", _("Purposes can be chosen only for a suspension or a withdrawal of consent."))
        elif purposes and kind == "withdrawal" and set(purposes) - self._consent_purposes:
            self.add_error(
                "purposes",
                _("Only purposes that rely on your consent can be withdrawn; ask for a suspension for the others."),
            )
        if data.get("is_agent"):
            for name in ("agent_name", "agent_email", "agent_relationship"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, _("Required when you act for someone else."))
            if not data.get("power_of_attorney") and "power_of_attorney" not in self.errors:
                self.add_error(
                    "power_of_attorney",
                    _("A request made for someone else needs their written power of attorney (PIPA art. 38)."),
                )
        return data


class StaffRequestForm(forms.Form):
    """A request received by phone, fax, letter, email or in person, entered in the admin."""

    channel = forms.ChoiceField(
        label=_("Received by"), choices=[c for c in RequestChannel.choices if c[0] != RequestChannel.WEB_FORM]
    )
    received_at = forms.DateTimeField(
        label=_("Received at"),
        help_text=_("When the company received it (Korea time); the 10-day clock runs from here."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    request_type = forms.ChoiceField(label=_("Request type"), choices=())
    language = forms.ChoiceField(label=_("Language of our answers"), choices=settings.LANGUAGES)
    name = forms.CharField(label=_("Person's name"), max_length=200)
    email = forms.EmailField(label=_("Person's email"), max_length=254, required=False)
    phone = forms.CharField(label=_("Person's phone"), max_length=40, required=False)
    details = forms.CharField(
        label=_("What the person asks"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    purposes = forms.MultipleChoiceField(
        label=_("Only for these purposes (suspension or withdrawal; none ticked: all)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    original_document = forms.FileField(
        label=_("Original document"),
        required=False,
        help_text=_("The letter, fax, email or form as received (PDF, JPEG or PNG)."),
    )
    is_agent = forms.BooleanField(label=_("Made by an agent"), required=False)
    agent_name = forms.CharField(label=_("Agent's name"), max_length=200, required=False)
    agent_email = forms.EmailField(label=_("Agent's email"), max_length=254, required=False)
    agent_phone = forms.CharField(label=_("Agent's phone"), max_length=40, required=False)
    agent_relationship = forms.CharField(label=_("Relationship to the person"), max_length=100, required=False)
    power_of_attorney = forms.FileField(label=_("Power of attorney"), required=False)
    identity_checked = forms.BooleanField(
        label=_("Identity (or the agent's authority) already checked"),
        required=False,
        help_text=_("Only when you checked it yourself: say how below."),
    )
    identity_note = forms.CharField(label=_("How it was checked"), max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["request_type"].choices = enabled_request_types()
        from consent.models import Purpose  # here: forms load before the apps are ready

        self.fields["purposes"].choices = [(p.key, p.localized_name) for p in Purpose.objects.all()]

    def clean_original_document(self):
        upload = self.cleaned_data.get("original_document")
        if upload:
            sniff_document(upload)
        return upload

    def clean_power_of_attorney(self):
        upload = self.cleaned_data.get("power_of_attorney")
        if upload:
            sniff_document(upload)
        return upload

    def clean(self):
        data = super().clean()
        if data.get("is_agent") and not data.get("agent_name") and "agent_name" not in self.errors:
            self.add_error("agent_name", _("Required for an agent's request."))
        if data.get("identity_checked"):
            if len((data.get("identity_note") or "").strip()) < 5:
                self.add_error("identity_note", _("Say how the identity or authority was checked."))
            if data.get("is_agent") and not data.get("power_of_attorney"):
                self.add_error("power_of_attorney", _("An agent's request needs the power of attorney."))
        return data


class GroundForm(forms.Form):
    """A refusal: the statutory ground for the request's type, and an optional note."""

    ground = forms.ChoiceField(label=_("Statutory ground (sent to the requester)"))
    note = forms.CharField(
        label=_("Note added to the ground (sent to the requester)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, request_type: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        grounds = grounds_for(request_type) if request_type else StatutoryGround.values
        self.fields["ground"].choices = [("", "---------")] + [
            (value, label) for value, label in StatutoryGround.choices if value in grounds
        ]


class PostponeForm(GroundForm):
    """PIPA art. 35(4): postpone access on a ground of the Act, until it ends."""

    until = forms.DateField(
        label=_("When the ground is expected to end"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Access is then due within 10 days of that date."),
    )

    def __init__(self, *args, request_type: str = "", **kwargs):
        super().__init__(*args, request_type=request_type, **kwargs)
        self.fields["ground"].choices = [("", "---------")] + [
            (value, label) for value, label in StatutoryGround.choices if value in ACCESS_GROUNDS
        ]


class ExtendForm(forms.Form):
    """GDPR art. 12(3), for a request marked as falling under the GDPR only."""

    months = forms.TypedChoiceField(label=_("Further months"), choices=[(1, "1"), (2, "2")], coerce=int, initial=1)
    reason = forms.CharField(label=_("Reason (sent to the requester)"), widget=forms.Textarea(attrs={"rows": 3}))


class GdprForm(forms.Form):
    applies = forms.BooleanField(label=_("This request falls under the GDPR (EU or UK user)"), required=False)
    note = forms.CharField(label=_("Why (recorded in the timeline)"), required=False)


class KeepForm(forms.Form):
    """A withdrawal or suspension destroys the data collected solely on the consents or purposes
    concerned; the page lists it, and staff may keep a part on a ground of PIPA art. 37(2)."""

    keep = forms.MultipleChoiceField(
        label=_("Keep on another basis (otherwise destroyed now)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    ground = forms.ChoiceField(label=_("Ground of PIPA art. 37(2) for what is kept"), required=False)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, datasets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["keep"].choices = [
            (d["model"], _("%(name)s: %(rows)d record(s)") % {"name": d["name"], "rows": d["rows"]}) for d in datasets
        ]
        self.fields["ground"].choices = [("", "---------")] + [
            (value, label) for value, label in StatutoryGround.choices if value in SUSPENSION_GROUNDS
        ]

    def clean(self):
        data = super().clean()
        if data.get("keep") and not data.get("ground"):
            self.add_error("ground", _("Choose the ground on which the data is kept."))
        return data

    def kept(self) -> dict[str, str]:
        return {label: self.cleaned_data["ground"] for label in self.cleaned_data.get("keep") or []}


class SuspendForm(KeepForm):
    """PIPA art. 37(1): all processing, or only the purposes ticked."""

    purposes = forms.MultipleChoiceField(
        label=_("Suspend only these purposes (none ticked: all processing)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from consent.models import Purpose  # here: forms load before the apps are ready

        self.fields["purposes"].choices = [(p.key, p.localized_name) for p in Purpose.objects.all()]


class LiftSuspensionForm(forms.Form):
    """DSAR-06: the privacy officer ends a suspension this request put in place, saying why."""

    purposes = forms.MultipleChoiceField(
        label=_("Lift the suspension of these purposes"), widget=forms.CheckboxSelectMultiple
    )
    note = forms.CharField(
        label=_("Why it is lifted (recorded in the timeline)"), min_length=10, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, suspended=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purposes"].choices = list(suspended)


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class BuildPackageForm(forms.Form):
    include_withheld = forms.BooleanField(
        label=_("Include records withheld from the person (PIPA art. 35(4)): privacy officer only"),
        required=False,
        help_text=_(
            "Disclosures the person was not told of and unapproved drafts are left out unless you include them."
        ),
    )
    note = forms.CharField(
        label=_("Why they are included (recorded in the timeline)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ApproveForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    to_unregistered = forms.BooleanField(
        label=_(
            "Send the package link to the requester's address although it is not the person's registered email "
            "(privacy officer; flagged in the monthly access review)"
        ),
        required=False,
    )


class RefuseForm(forms.Form):
    note = forms.CharField(label=_("Why it is refused"), widget=forms.Textarea(attrs={"rows": 2}))


class MergeForm(forms.Form):
    """Close this request as a duplicate of another (same email and type, within 7 days)."""

    into = forms.ChoiceField(label=_("Keep this request and close the present one as its duplicate"))

    def __init__(self, *args, duplicates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["into"].choices = [("", "---------")] + [
            (str(d.pk), f"{d.reference} ({d.get_status_display()})") for d in duplicates
        ]


class ReplyForm(forms.Form):
    """A message to the requester, written here or started from a reply template."""

    template = forms.ChoiceField(label=_("Start from a reply template"), required=False)
    message = forms.CharField(
        label=_("Message"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Left empty, the chosen template's text is sent."),
    )

    def __init__(self, *args, templates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.templates = {str(t.pk): t for t in templates}
        self.fields["template"].choices = [("", "---------")] + [(k, t.name) for k, t in self.templates.items()]

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("message") or "").strip() and not cleaned.get("template"):
            raise forms.ValidationError(_("Write the reply, or choose a template."))
        return cleaned
