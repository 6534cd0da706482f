"""Admin building blocks shared by the apps."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy

from .crypto import UNDECRYPTABLE_LABEL, EncryptedTextField, is_undecryptable
from .people import person_label


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ledgers and registers: staff read them; rows are written by services only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.display(description=gettext_lazy("person"), ordering="subject")
def subject_person(obj) -> str:
    """A list column naming the row's person (display name, else masked email), not "subject #1".
    The admin's list_select_related should hold "subject"."""
    subject = getattr(obj, "subject", None)
    if subject is None:
        return "-"
    return person_label(subject.name, subject.email, subject.pk)


def undecryptable_fields(obj) -> list[str]:
    """Names of the obj's encrypted fields that no configured key decrypts."""
    return [
        field.name
        for field in obj._meta.concrete_fields
        if isinstance(field, EncryptedTextField) and is_undecryptable(getattr(obj, field.attname))
    ]


class EncryptedValuesMixin:
    """For admins of models with encrypted fields, which they never show: an "encrypted values"
    column that says when a row's secrets cannot be decrypted (encrypted under a key that is no
    longer configured). Add "encrypted_values" to list_display and readonly_fields."""

    @admin.display(description=gettext_lazy("encrypted values"))
    def encrypted_values(self, obj):
        return UNDECRYPTABLE_LABEL if undecryptable_fields(obj) else None


# --- confirmation before an act that destroys, sends or closes ---------------------------------
# The admin's own delete-confirmation pattern, for every such act: an intermediate page states
# exactly what will happen and, where the act needs one, asks for a note; nothing happens until
# the page's form is sent back with CONFIRMED_FIELD set. One template for all of them.

CONFIRMED_FIELD = "confirmed"
NOTE_FIELD = "confirmation_note"
CHOICE_FIELD = "confirmation_choice"
_NOT_CARRIED = {"csrfmiddlewaretoken", CONFIRMED_FIELD, NOTE_FIELD, CHOICE_FIELD, "index"}


def confirmation_choice(request) -> str:
    """The option chosen on the confirmation page ("" when none)."""
    return (request.POST.get(CHOICE_FIELD) or "").strip()


def confirmation_note(request) -> str:
    """The note written on the confirmation page ("" when none)."""
    return (request.POST.get(NOTE_FIELD) or "").strip()


def is_confirmed(request, *, note_required: bool = False, choices=None) -> bool:
    """The confirmation page was sent back (with the note when the act needs one, and one of
    the offered choices when it offers some)."""
    if request.method != "POST" or request.POST.get(CONFIRMED_FIELD) != "yes":
        return False
    if choices is not None and confirmation_choice(request) not in {str(value) for value, _label in choices}:
        return False
    return bool(confirmation_note(request)) or not note_required


def confirmation_page(
    request,
    *,
    admin_site,
    opts,
    title: str,
    consequences: list[str],
    confirm_label: str,
    cancel_url: str,
    note_label: str = "",
    note_help: str = "",
    note_required: bool = False,
    carry: dict[str, str] | None = None,
    objects: list[str] | None = None,
    choice_label: str = "",
    choices=None,
):
    """The page that asks. It posts back to the same address every field of the request that
    led here (the action, the selected rows, a workflow form's fields), plus CONFIRMED_FIELD."""
    from django.template.response import TemplateResponse
    from django.utils.translation import gettext

    carry = carry or {}
    hidden = [
        (name, value)
        for name in request.POST
        if name not in _NOT_CARRIED and name not in carry
        for value in request.POST.getlist(name)
    ]
    hidden += list(carry.items())
    sent_back = request.POST.get(CONFIRMED_FIELD) == "yes"
    error = ""
    if sent_back and note_required and not confirmation_note(request):
        error = gettext("This act needs a note: write it before confirming.")
    elif sent_back and choices is not None and not is_confirmed(request, choices=choices):
        error = gettext("Choose one of the options first.")
    context = {
        **admin_site.each_context(request),
        "opts": opts,
        "app_label": opts.app_label,
        "title": title,
        "consequences": consequences,
        "objects": objects or [],
        "confirm_label": confirm_label,
        "cancel_url": cancel_url,
        "hidden": hidden,
        "note_field": NOTE_FIELD,
        "note_label": note_label,
        "note_help": note_help,
        "note_required": note_required,
        "note": confirmation_note(request),
        "error": error,
        "confirmed_field": CONFIRMED_FIELD,
        "choice_field": CHOICE_FIELD,
        "choice_label": choice_label,
        "choices": [(str(value), str(label)) for value, label in (choices or [])],
        "choice": confirmation_choice(request),
    }
    return TemplateResponse(request, "admin/confirm_action.html", context)


def confirm_first(
    *,
    title,
    consequences,
    confirm_label,
    note_label="",
    note_help="",
    note_required: bool = False,
    describe=str,
):
    """Decorate an admin action (under @admin.action) so that it shows the confirmation page
    first. `consequences(modeladmin, request, queryset)` returns the sentences that say what the
    act will do; the action runs only when the page is sent back (with the note if required),
    and reads the note with `confirmation_note(request)`. `describe(obj)` names each chosen row
    on the page (str by default)."""
    import functools

    def decorate(func):
        @functools.wraps(func)
        def action(modeladmin, request, queryset):
            if is_confirmed(request, note_required=note_required):
                return func(modeladmin, request, queryset)
            return confirmation_page(
                request,
                admin_site=modeladmin.admin_site,
                opts=modeladmin.model._meta,
                title=str(title),
                consequences=[str(line) for line in consequences(modeladmin, request, queryset)],
                objects=[str(describe(obj)) for obj in queryset[:50]],
                confirm_label=str(confirm_label),
                cancel_url=request.get_full_path(),
                note_label=str(note_label),
                note_help=str(note_help),
                note_required=note_required,
                carry={"action": func.__name__},
            )

        return action

    return decorate
