"""The request inbox for staff: duplicates (the same email and type within a window), merging a
duplicate into the request kept, bulk assignment, replies written from a template, and each
timeline event told in a sentence."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from privacyops.lib.times import seoul_time
from subjects.models import normalise_email

from . import services
from .models import (
    DataSubjectRequest,
    EventKind,
    ReplyTemplate,
    RequestChannel,
    RequestEvent,
    RequestStatus,
)

DUPLICATE_WINDOW_DAYS = 7


def duplicates_of(request: DataSubjectRequest, *, window_days: int = DUPLICATE_WINDOW_DAYS):
    """Other requests with the same email and type received within `window_days` of this one."""
    email = normalise_email(request.email) if request.email else ""
    if not email:
        return DataSubjectRequest.objects.none()
    window = timedelta(days=window_days)
    return (
        DataSubjectRequest.objects.filter(
            email__iexact=email,
            request_type=request.request_type,
            received_at__gte=request.received_at - window,
            received_at__lte=request.received_at + window,
        )
        .exclude(pk=request.pk)
        .order_by("received_at", "pk")
    )


def duplicate_references(requests) -> dict[int, list[str]]:
    """For a page of requests, the references of each one's duplicates (one query per request
    with an email; a page holds at most 100)."""
    return {r.pk: list(duplicates_of(r).values_list("reference", flat=True)[:5]) for r in requests}


@transaction.atomic
def merge_duplicate(*, request: DataSubjectRequest, into: DataSubjectRequest, actor) -> DataSubjectRequest:
    """Close `request` as a duplicate of `into`, which is kept and answered; the person gets no
    separate email for the duplicate (one request, one answer)."""
    if not actor.has_perm("dsar.change_datasubjectrequest"):
        raise services.RequestError(_("You may not change requests."))
    request = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
    into = DataSubjectRequest.objects.get(pk=into.pk)
    if not request.is_open:
        raise services.RequestError(_("This request is already closed."))
    if into.pk == request.pk or not duplicates_of(request).filter(pk=into.pk).exists():
        raise services.RequestError(_("Only a duplicate (same email and type, within 7 days) can be merged."))
    note = _("Merged into %(ref)s: the same person asked the same thing twice.") % {"ref": into.reference}
    request.status = RequestStatus.WITHDRAWN
    request.closed_at = timezone.now()
    request.save(update_fields=["status", "closed_at"])
    RequestEvent.objects.create(
        request=request,
        kind=EventKind.CLOSED,
        actor=actor,
        note=note,
        data={"status": RequestStatus.WITHDRAWN, "merged_into": into.reference},
    )
    RequestEvent.objects.create(
        request=into,
        kind=EventKind.NOTE,
        actor=actor,
        note=_("%(ref)s was merged into this request as a duplicate.") % {"ref": request.reference},
        data={"merged": request.reference},
    )
    return request


def assign_many(*, requests, assignee, actor) -> int:
    done = 0
    for request in requests:
        if request.is_open:
            services.assign_request(request=request, assignee=assignee, actor=actor)
            done += 1
    return done


def templates_for(request: DataSubjectRequest):
    queryset = ReplyTemplate.objects.filter(active=True, language=(request.language or "ko")[:2])
    return queryset.filter(request_type__in=["", request.request_type])


@transaction.atomic
def reply(*, request: DataSubjectRequest, actor, text: str) -> bool:
    """Email the requester a message written by staff (kept in the timeline like every notice)."""
    if not actor.has_perm("dsar.change_datasubjectrequest"):
        raise services.RequestError(_("You may not change requests."))
    text = (text or "").strip()
    if not text:
        raise services.RequestError(_("Write the reply first, or choose a template."))
    return services.send_notice(request, "reply", actor=actor, context={"message": text})


# --- the timeline in sentences -----------------------------------------------------------------


def _status_label(value) -> str:
    return str(dict(RequestStatus.choices).get(value, value))


def describe_event(event: RequestEvent) -> str:
    """What happened, in a sentence, from the event's kind and data (no dict text)."""
    data = event.data or {}
    kind = event.kind
    if kind == EventKind.RECEIVED:
        channel = str(dict(RequestChannel.choices).get(data.get("channel"), data.get("channel") or ""))
        if data.get("agent"):
            return _("Received through %(channel)s, from an agent acting for the person.") % {"channel": channel}
        return _("Received through %(channel)s, from the person themself.") % {"channel": channel}
    if kind == EventKind.STATUS_CHANGED:
        return _("Status changed from “%(old)s” to “%(new)s”.") % {
            "old": _status_label(data.get("from")),
            "new": _status_label(data.get("to")),
        }
    if kind == EventKind.CLOSED:
        if data.get("merged_into"):
            return _("Closed as a duplicate of %(ref)s.") % {"ref": data["merged_into"]}
        return _("Closed: %(status)s.") % {"status": _status_label(data.get("status"))}
    if kind == EventKind.ASSIGNED:
        user = get_user_model().objects.filter(pk=data.get("assignee_id")).first() if data.get("assignee_id") else None
        if user is None:
            return _("The assignee was removed.")
        return _("Assigned to %(who)s.") % {"who": user.get_full_name() or user.get_username()}
    if kind == EventKind.CONSENTS_WITHDRAWN:
        return _("%(n)s consents withdrawn.") % {"n": data.get("count", 0)}
    if kind == EventKind.VENDOR_JOBS_CREATED:
        if data.get("kind") == "suppress":
            return _("%(n)s processors asked to stop using the person's data.") % {"n": data.get("count", 0)}
        return _("%(n)s processors asked to erase the person's data.") % {"n": data.get("count", 0)}
    if kind == EventKind.PACKAGE_DOWNLOADED:
        return _("The person downloaded the access package (download %(n)s).") % {"n": data.get("count", 1)}
    if kind == EventKind.REMINDER_SENT:
        who = _("the assignee") if data.get("to") == "assignee" else _("the privacy officers")
        if data.get("overdue_days"):
            return _("Reminder sent to %(who)s: %(n)s days overdue.") % {"who": who, "n": data["overdue_days"]}
        return _("Reminder sent to %(who)s.") % {"who": who}
    if kind == EventKind.NOTICE_SENT:
        return _("Email sent to the requester.")
    if kind == EventKind.RESTRICTED:
        return _("Processing of the person's data suspended.")
    if kind == EventKind.NOTE and data.get("delivered") is False:
        return _("No email could be sent: answer by another channel.")
    if kind == EventKind.NOTE and data.get("merged"):
        return _("%(ref)s was merged into this request.") % {"ref": data["merged"]}
    return str(event.get_kind_display())


def timeline(request: DataSubjectRequest) -> list[dict]:
    rows = []
    for event in request.events.select_related("actor").order_by("at", "pk"):
        rows.append(
            {
                "at": seoul_time(event.at),
                "what": describe_event(event),
                "who": (event.actor.get_full_name() or event.actor.get_username())
                if event.actor_id
                else _("the system"),
                "note": event.note,
                "kind": event.kind,
            }
        )
    return rows
