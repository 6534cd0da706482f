"""Four eyes where a person's data leaves or dies (issue 15), the exfiltration of the security
review scripted end to end, downloads capped and the nonce hashed, and PIPA 35(4) in the package."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from django.utils import timezone

from audit.models import AccessLog, Approval, FindingKind
from audit.services import create_access_review
from dsar import fulfilment, services, tokens
from dsar.models import DataSubjectRequest, EventKind, RequestChannel, RequestStatus, RequestType
from retention.approvals import decide_hold_release, request_hold_release
from retention.models import LegalHold
from retention.services import RetentionError, place_hold
from subjects.models import Inquiry, VisitLog
from thirdparty.models import DisclosedSubject, Disclosure, DisclosureGround, DisclosureStatus

from .conftest import link_in

ATTACKER = "attacker@evil.example"


def _phone_request_from_the_attacker(support, request_type=RequestType.ACCESS) -> DataSubjectRequest:
    return services.record_staff_request(
        actor=support,
        channel=RequestChannel.PHONE,
        request_type=request_type,
        name="Alice Kim",
        email=ATTACKER,
        identity_checked=True,
        identity_note="Caller knew her birthday",
    )


def _to(mailoutbox, address: str) -> list:
    return [m for m in mailoutbox if address in m.to]


def _decide(request, user, approve=True, **kwargs):
    return services.decide_request_approval(
        request=DataSubjectRequest.objects.get(pk=request.pk), actor=user, approve=approve, **kwargs
    )


def test_support_alone_cannot_send_alices_data_to_an_attacker(
    support, officer, alice, mailoutbox, committed, client, settings
):
    settings.LANGUAGE_CODE = "en"
    with committed():
        request = _phone_request_from_the_attacker(support)
    # The identity support ticked does not count on its own.
    request.refresh_from_db()
    assert request.verified_at is None and request.subject is None
    assert Approval.objects.pending().get().prepared_by == support
    with pytest.raises(services.RequestError, match="privacy officer"):
        _decide(request, support)
    # Support pushes on: every step that would let the data out is refused or waits.
    with pytest.raises(services.RequestError, match="not been verified"):
        services.link_subject(request=request, subject=alice, actor=support)
    with pytest.raises(services.RequestError, match="not been verified"):
        services.build_access_package(request=request, actor=support)

    # A second person (fooled by the note) approves the identity; support links Alice, whose
    # email is not the requester's: that waits for a second person too.
    _decide(request, officer)
    services.link_subject(request=request, subject=alice, actor=support)
    request.refresh_from_db()
    assert request.subject is None
    assert request.events.filter(kind=EventKind.APPROVAL_REQUESTED).count() == 2
    _decide(request, officer)
    request.refresh_from_db()
    assert request.subject == alice

    services.build_access_package(request=request, actor=support)
    services.review_package(request=DataSubjectRequest.objects.get(pk=request.pk), actor=support, ip="192.0.2.1")
    with committed():
        services.release_access_package(request=DataSubjectRequest.objects.get(pk=request.pk), actor=support)
    request.refresh_from_db()
    # Released by support alone: nothing sent, no link exists, a pending approval.
    assert request.package_released_at is None and request.package_nonce_hash == ""
    assert request.status == RequestStatus.IN_PROGRESS
    pending = Approval.objects.pending().get()
    assert (pending.kind, pending.prepared_by) == ("dsar.release_package", support)
    assert not [m for m in _to(mailoutbox, ATTACKER) if "/dsar/download/" in m.body]

    # The officer approves: the link goes to Alice's registered address, not the attacker's.
    with committed():
        _decide(request, officer)
    assert not [m for m in _to(mailoutbox, ATTACKER) if "/dsar/download/" in m.body]
    [to_alice] = [m for m in _to(mailoutbox, "alice@example.com") if "/dsar/download/" in m.body]
    # What the attacker received at all: the acknowledgement of the phone request, no link, no data.
    assert all("/dsar/download/" not in m.body and "010-1111-2222" not in m.body for m in _to(mailoutbox, ATTACKER))
    assert client.get(link_in(to_alice)).status_code == 200
    approved = request.events.get(kind=EventKind.APPROVED, data__what="dsar.release_package")
    assert approved.actor == officer
    # Not flagged: the link went to the registered address.
    review, _ = create_access_review(month=date.today())
    assert not review.findings.filter(kind=FindingKind.UNREGISTERED_RECIPIENT).exists()


def test_the_preparer_cannot_approve_their_own_step(officer, overseer, alice):
    request = services.record_staff_request(
        actor=officer,
        channel=RequestChannel.LETTER,
        request_type=RequestType.ACCESS,
        name="Alice Kim",
        email="alice@example.com",
        identity_checked=True,
        identity_note="Signed letter with ID copy",
    )
    with pytest.raises(services.RequestError, match="You prepared this step"):
        _decide(request, officer)
    assert Approval.objects.pending().count() == 1
    assert not DataSubjectRequest.objects.get(pk=request.pk).is_verified
    # The refusal is a timeline event with its reason, and the identity stays unverified.
    with pytest.raises(services.RequestError, match="Say why"):
        _decide(request, overseer, approve=False)
    _decide(request, overseer, approve=False, note="The ID copy does not match the signature")
    request.refresh_from_db()
    assert not request.is_verified
    refused = request.events.get(kind=EventKind.APPROVAL_REFUSED)
    assert (refused.actor, refused.note) == (overseer, "The ID copy does not match the signature")


def test_the_officer_may_send_to_an_unregistered_address_and_the_review_flags_it(
    support, officer, alice, mailoutbox, committed
):
    request = _phone_request_from_the_attacker(support)
    _decide(request, officer)
    services.link_subject(request=DataSubjectRequest.objects.get(pk=request.pk), subject=alice, actor=support)
    _decide(request, officer)
    services.build_access_package(request=DataSubjectRequest.objects.get(pk=request.pk), actor=support)
    services.review_package(request=DataSubjectRequest.objects.get(pk=request.pk), actor=support, ip=None)
    services.release_access_package(request=DataSubjectRequest.objects.get(pk=request.pk), actor=support)
    mailoutbox.clear()
    with committed():
        _decide(request, officer, to_unregistered=True, note="Confirmed by phone call back")
    assert [m for m in _to(mailoutbox, ATTACKER) if "/dsar/download/" in m.body]
    review, _ = create_access_review(month=date.today())
    finding = review.findings.get(kind=FindingKind.UNREGISTERED_RECIPIENT)
    assert finding.username == "officer" and request.reference in finding.detail and "support" in finding.detail


def test_support_alone_cannot_carry_out_an_erasure(verified, support, officer, alice):
    request = verified("alice@example.com", RequestType.DELETION)
    fulfilment.carry_out_deletion(request=request, actor=support)
    assert Inquiry.objects.filter(subject=alice).count() == 2 and VisitLog.objects.filter(subject=alice).exists()
    assert Approval.objects.pending().get().kind == "dsar.erasure"
    with pytest.raises(services.RequestError, match="privacy officer"):
        _decide(request, support)
    # No other door: the erasure itself refuses without the approval.
    with pytest.raises(services.RequestError, match="second person"):
        fulfilment.erase_now(request=DataSubjectRequest.objects.get(pk=request.pk), actor=officer)
    assert VisitLog.objects.filter(subject=alice).exists()
    _decide(request, officer)
    # Erased now: the plain question went, the complaint a statute keeps stayed.
    assert Inquiry.objects.filter(subject_id=alice.pk).count() == 1
    assert DataSubjectRequest.objects.get(pk=request.pk).outcome["erasure"]["erased"] > 0


def test_a_hold_release_needs_a_second_person(officer, overseer, support, alice):
    hold = place_hold(placed_by=officer, subject_id=alice.pk, reason="Court order 2025-1")
    with pytest.raises(RetentionError):
        request_hold_release(hold_id=hold.pk, requested_by=support)
    request_hold_release(hold_id=hold.pk, requested_by=officer)
    with pytest.raises(RetentionError, match="You prepared this step"):
        decide_hold_release(hold_id=hold.pk, decided_by=officer, approve=True)
    with pytest.raises(RetentionError, match="privacy officer"):
        decide_hold_release(hold_id=hold.pk, decided_by=support, approve=True)
    assert LegalHold.objects.get(pk=hold.pk).is_active
    decide_hold_release(hold_id=hold.pk, decided_by=overseer, approve=True)
    hold.refresh_from_db()
    assert not hold.is_active and hold.released_by == overseer
    approval = Approval.objects.get(kind="retention.hold_release")
    assert (approval.prepared_by, approval.decided_by, approval.decision) == (officer, overseer, "approved")


def test_a_refused_hold_release_keeps_the_hold(officer, overseer, alice):
    hold = place_hold(placed_by=officer, subject_id=alice.pk, reason="Court order 2025-2")
    request_hold_release(hold_id=hold.pk, requested_by=officer)
    decide_hold_release(hold_id=hold.pk, decided_by=overseer, approve=False, note="The case is still open")
    assert LegalHold.objects.get(pk=hold.pk).is_active
    assert Approval.objects.get().decision_note == "The case is still open"


@pytest.fixture
def released_link(verified, officer, approve, mailoutbox, committed, alice):
    request = verified("alice@example.com", RequestType.ACCESS)
    services.build_access_package(request=request, actor=officer)
    services.review_package(request=DataSubjectRequest.objects.get(pk=request.pk), actor=officer, ip=None)
    services.release_access_package(request=DataSubjectRequest.objects.get(pk=request.pk), actor=officer)
    mailoutbox.clear()
    with committed():
        approve(request)
    return request, link_in(mailoutbox[0])


def test_a_package_downloads_at_most_the_configured_number_of_times(released_link, client, settings):
    request, path = released_link
    settings.DSAR_DOWNLOADS_MAX = 3
    before = AccessLog.objects.filter(action="download").count()
    for _ in range(3):
        assert client.get(path).status_code == 200
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 410
    assert "already used 3 times" in response.content.decode()
    assert AccessLog.objects.filter(action="download").count() == before + 3
    assert DataSubjectRequest.objects.get(pk=request.pk).download_count == 3


def test_the_download_nonce_is_stored_only_as_a_hash(released_link):
    request, path = released_link
    token = path.rstrip("/").rsplit("/", 1)[-1]
    nonce = tokens.read_download(token, 86400).nonce
    stored = DataSubjectRequest.objects.get(pk=request.pk).package_nonce_hash
    assert nonce not in stored and stored == tokens.hash_nonce(nonce)


def _disclosures(alice, officer):
    made = Disclosure.objects.create(
        approved_by=officer,
        approved_at=timezone.now(),
        authority="Seoul Police",
        ground=DisclosureGround.INVESTIGATION,
        basis_detail="Warrant 2025-77",
        data_disclosed="email",
        status=DisclosureStatus.DISCLOSED,
        disclosed_at=timezone.now(),
    )
    draft = Disclosure.objects.create(
        authority="Tax office", ground=DisclosureGround.LEGAL_OBLIGATION, basis_detail="Letter 5", data_disclosed="x"
    )
    withheld = DisclosedSubject.objects.create(
        disclosure=made, subject=alice, notice_withheld_reason="ongoing criminal investigation: do not tell the suspect"
    )
    drafted = DisclosedSubject.objects.create(disclosure=draft, subject=alice)
    return withheld, drafted


def _package_text(request) -> str:
    request.refresh_from_db()
    with request.package_file.open("rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())


def test_withheld_disclosures_and_drafts_stay_out_of_the_persons_package(verified, officer, support, alice):
    withheld, drafted = _disclosures(alice, officer)
    request = verified("alice@example.com", RequestType.ACCESS)
    services.build_access_package(request=request, actor=support)
    text = _package_text(request)
    assert "ongoing criminal investigation" not in text
    assert f"disclosure #{withheld.disclosure_id}" not in text and f"disclosure #{drafted.disclosure_id}" not in text
    built = request.events.filter(kind=EventKind.PACKAGE_BUILT).latest("pk")
    assert built.data["withheld"] == {"thirdparty.DisclosedSubject": 2} and not built.data["withheld_included"]

    with pytest.raises(services.RequestError, match="Only the privacy officer"):
        services.build_access_package(
            request=request, actor=support, include_withheld=True, note="The investigation is closed now"
        )
    services.build_access_package(
        request=DataSubjectRequest.objects.get(pk=request.pk),
        actor=officer,
        include_withheld=True,
        note="The investigation is closed now",
    )
    assert f"disclosure #{withheld.disclosure_id}" in _package_text(request)
    included = request.events.filter(kind=EventKind.PACKAGE_BUILT).latest("pk")
    assert included.data["withheld_included"] and included.actor == officer
    assert included.note == "The investigation is closed now"
