"""Rights as the Act has them: PIPA has no general extension; postponing access (art. 35(4)) and
refusing erasure (art. 36(1) proviso) or suspension (art. 37(2)) name a ground from the Act's own
list; only a request marked as under the GDPR has its one-month clock and extension (DSAR-10)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from dsar import services
from dsar.admin import DataSubjectRequestAdmin
from dsar.forms import GroundForm
from dsar.models import DataSubjectRequest, EventKind, RequestStatus, RequestType
from dsar.models import DataSubjectRequest as Model

pytestmark = pytest.mark.django_db

SEOUL = ZoneInfo("Asia/Seoul")


def seoul(*args) -> datetime:
    return datetime(*args, tzinfo=SEOUL)


@pytest.fixture
def on_march_first(verified):
    def _make(request_type=RequestType.ACCESS):
        with time_machine.travel(seoul(2026, 3, 1, 10, 0)):
            return verified("alice@example.com", request_type)

    return _make


@pytest.mark.parametrize(
    "request_type", [t for t in RequestType.values if t not in ("portability", "automated_decision")]
)
def test_no_request_under_pipa_can_be_extended(on_march_first, officer, request_type):
    """DSAR-04: PIPA has no general extension, for any request type; the admin does not offer it."""
    request = on_march_first(request_type)
    with time_machine.travel(seoul(2026, 3, 5, 10, 0)):
        with pytest.raises(services.RequestError, match="PIPA allows no extension"):
            services.extend_deadline(request=request, actor=officer, months=1, reason="We need more time for this.")
    request.refresh_from_db()
    assert request.due_on == date(2026, 3, 11) and not request.events.filter(kind=EventKind.EXTENDED).exists()
    assert "extend" not in DataSubjectRequestAdmin(Model, None).available_actions(request, officer)


def test_only_the_privacy_officer_marks_a_request_as_under_the_gdpr(on_march_first, support, officer):
    """DSAR-10: the overlay is set by the officer; then the extension is offered, and only then."""
    request = on_march_first()
    with pytest.raises(services.RequestError, match="permission"):
        services.mark_gdpr_overlay(request=request, actor=support, applies=True)
    services.mark_gdpr_overlay(request=request, actor=officer, applies=True, note="Lives in France.")
    request.refresh_from_db()
    assert request.gdpr_applies and request.due_on == date(2026, 4, 1)
    assert "extend" in DataSubjectRequestAdmin(Model, None).available_actions(request, officer)
    assert request.events.get(kind=EventKind.GDPR_MARKED).data["to"] == "2026-04-01"


def test_a_postponement_needs_a_statutory_ground_and_tells_how_to_object(
    on_march_first, support, mailoutbox, committed
):
    """DSAR-04: PIPA art. 35(4): the notice names the ground, within the 10 days, with how to object,
    the privacy officer and the complaint institutions; access is due 10 days after the ground ends."""
    request = on_march_first()
    DataSubjectRequest.objects.filter(pk=request.pk).update(language="en")
    with time_machine.travel(seoul(2026, 3, 5, 10, 0)):
        with pytest.raises(services.RequestError, match="statutory ground"):
            services.postpone_access(request=request, actor=support, ground="", until=date(2026, 3, 20))
        with pytest.raises(services.RequestError, match="statutory ground"):
            # A suspension ground is not one of art. 35(4)'s.
            services.postpone_access(request=request, actor=support, ground="37-2-4", until=date(2026, 3, 20))
        mailoutbox.clear()
        with committed():
            services.postpone_access(
                request=request, actor=support, ground="35-4-2", until=date(2026, 3, 20), note="A third party's file."
            )
    request.refresh_from_db()
    assert request.status != RequestStatus.REJECTED and request.due_on == date(2026, 3, 30)
    assert request.refusal_ground == "35-4-2"
    body = mailoutbox[0].body
    assert "PIPA art. 35(4) 2" in body and "A third party's file." in body
    assert "How to object" in body and "118" in body and "Privacy officer" in body
    assert request.events.get(kind=EventKind.POSTPONED).data["ground"] == "35-4-2"


def test_a_postponement_after_the_ten_days_is_refused(on_march_first, support):
    """DSAR-04: the notice of a postponement is due inside the 10 days of receipt."""
    request = on_march_first()
    with time_machine.travel(seoul(2026, 3, 12, 10, 0)):
        with pytest.raises(services.RequestError, match="10 days have passed"):
            services.postpone_access(request=request, actor=support, ground="35-4-1", until=date(2026, 3, 20))


def test_a_suspension_is_refused_only_on_a_ground_of_article_37_2(on_march_first, officer, mailoutbox, committed):
    """DSAR-06: refusals of a suspension take one of PIPA art. 37(2) 1-4 (or an unverified requester)."""
    request = on_march_first(RequestType.SUSPENSION)
    form = GroundForm(request_type=RequestType.SUSPENSION)
    offered = {value for value, _label in form.fields["ground"].choices if value}
    assert offered == {"37-2-1", "37-2-2", "37-2-3", "37-2-4", "38-1"}
    with pytest.raises(services.RequestError, match="statutory ground"):
        services.reject_request(request=request, actor=officer, ground="36-1")
    mailoutbox.clear()
    with committed():
        services.reject_request(request=request, actor=officer, ground="37-2-4")
    request.refresh_from_db()
    assert request.status == RequestStatus.REJECTED and request.refusal_ground == "37-2-4"
    assert (
        "계약의 해지" in mailoutbox[0].body
        or "terminate" in mailoutbox[0].body
        or "end the contract" in mailoutbox[0].body
    )
