from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from thirdparty import services
from thirdparty.models import (
    ErasureChannel,
    IdentityKind,
    JobKind,
    JobStatus,
    Processor,
    VendorErasureJob,
    VendorName,
)


@pytest.fixture
def mailer(db):
    return Processor.objects.create(
        name="Seminar Hall Booking Co.",
        entrusted_task="Seminar registration desk",
        country="Korea",
        erasure_channel=ErasureChannel.EMAIL,
        contact_email="privacy@hall.example",
    )


def test_it_makes_one_job_per_applicable_processor_and_is_idempotent(alice, vendors):
    services.record_vendor_identity(
        subject=alice, vendor=VendorName.GOOGLE_ANALYTICS, kind=IdentityKind.CLIENT_ID, value="1.2"
    )
    first = services.create_erasure_jobs(subject=alice, reference="DSAR-9")
    again = services.create_erasure_jobs(subject=alice, reference="DSAR-9")
    assert sorted(j.processor.name for j in first) == ["Google Analytics", "Meta", "Stibee"]
    assert [j.pk for j in first] == [j.pk for j in again]
    assert VendorErasureJob.objects.count() == 3


def test_suppression_skips_analytics_and_a_subject_without_identifiers_gets_no_ga_job(alice, vendors):
    suppress = services.create_erasure_jobs(subject=alice, reference="W-1", kind=JobKind.SUPPRESS)
    erase = services.create_erasure_jobs(subject=alice, reference="E-1", kind=JobKind.ERASE)
    assert sorted(j.processor.name for j in suppress) == ["Meta", "Stibee"]
    assert sorted(j.processor.name for j in erase) == ["Meta", "Stibee"]


def test_open_jobs_lists_what_is_not_yet_confirmed_or_closed_with_a_note(alice, mailer, officer, vendors, only):
    only(mailer)
    [job] = services.create_erasure_jobs(subject=alice, reference="DSAR-3")
    assert list(services.open_jobs("DSAR-3")) == [job]
    services.close_job_manually(job=job, user=officer, note="The hall keeps no attendee list after the event.")
    assert not services.open_jobs("DSAR-3").exists()
    job.refresh_from_db()
    assert job.identifiers == "" and job.status == JobStatus.MANUAL


def test_an_email_channel_processor_gets_an_erasure_email_and_staff_confirm_receipt(
    alice, mailer, officer, only, admin_login
):
    only(mailer)
    [job] = services.create_erasure_jobs(subject=alice, reference="DSAR-4")

    services.send_vendor_erasure_jobs()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["privacy@hall.example"]
    assert "DSAR-4" in message.subject and "alice@example.com" in message.body
    job.refresh_from_db()
    assert job.status == JobStatus.SENT and job.email_sent_at is not None
    assert services.open_jobs("DSAR-4").exists()

    response = admin_login(officer).post(
        "/admin/thirdparty/vendorerasurejob/",
        {
            "action": "confirm_received",
            "_selected_action": [job.pk],
            "confirmed": "yes",
            "confirmation_note": "Email from privacy@hall.example: deleted.",
        },
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.CONFIRMED and job.closed_by == officer and job.identifiers == ""
    assert not services.open_jobs("DSAR-4").exists()


def test_retry_now_in_the_admin_makes_a_stuck_job_due_again(
    alice, stibee_processor, only, officer, admin_login, vendors
):
    only(stibee_processor)
    vendors.expect_oneshot_request("/v1/lists/4242/subscribers", method="DELETE").respond_with_json(
        {"Ok": False}, status=401
    )
    [job] = services.create_erasure_jobs(subject=alice, reference="DSAR-5")
    services.send_vendor_erasure_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.next_attempt_at is None

    client = admin_login(officer)
    listing = client.get("/admin/thirdparty/vendorerasurejob/?state=stuck").content.decode()
    assert "DSAR-5" in listing and "HTTP 401" in listing
    client.post(
        "/admin/thirdparty/vendorerasurejob/", {"action": "retry_now", "_selected_action": [job.pk], "confirmed": "yes"}
    )
    job.refresh_from_db()
    assert job.next_attempt_at is not None and job.next_attempt_at <= timezone.now() and job.attempts == 0
    # The job's page shows its calls, not the identifiers it holds.
    page = client.get(f"/admin/thirdparty/vendorerasurejob/{job.pk}/change/").content.decode()
    assert "alice@example.com" not in page and "401" in page


def test_the_processor_list_highlights_contracts_ending_within_60_days(officer, admin_login, db):
    Processor.objects.filter(name="Stibee").update(contract_end=timezone.localdate() + timedelta(days=30))
    Processor.objects.filter(name="Meta").update(contract_end=timezone.localdate() + timedelta(days=200))
    client = admin_login(officer)
    page = client.get("/admin/thirdparty/processor/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<strong style="color:#b60">ends in 30 days</strong>' in page
    assert "until " in page  # Meta's contract is shown plainly
    expiring = client.get("/admin/thirdparty/processor/?contract=expiring")
    assert [p.name for p in expiring.context["cl"].result_list] == ["Stibee"]


def test_the_seeded_processors_match_policy_section_3(db):
    rows = {p.name: p for p in Processor.objects.all()}
    assert rows["Google Analytics"].entrusted_task == "User data analysis"
    assert rows["Meta"].entrusted_task == "Targeted advertising services"
    assert rows["Stibee"].entrusted_task == "Email sending"
    assert {p.retention_text for p in rows.values()} == {"Until end of service agreement"}
    assert rows["Google Analytics"].transfers_overseas and rows["Meta"].country == "USA"
    assert rows["Stibee"].country == "Korea" and not rows["Stibee"].transfers_overseas
    assert all(p.kind == "entrustment" for p in rows.values())
    # The contract checklist starts empty: staff tick what the signed DPA actually says.
    assert len(rows["Meta"].missing_clauses()) == 7


def test_a_dpa_upload_must_be_a_small_pdf(db):
    processor = Processor.objects.get(name="Stibee")
    processor.dpa_file = SimpleUploadedFile("dpa.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    with pytest.raises(ValidationError, match="PDF"):
        processor.full_clean()
    processor.dpa_file = SimpleUploadedFile("dpa.exe", b"%PDF-1.7 ...", content_type="application/pdf")
    with pytest.raises(ValidationError):
        processor.full_clean()
    processor.dpa_file = SimpleUploadedFile(
        "dpa.pdf", b"%PDF-1.7 " + b"0" * (10 * 1024 * 1024), content_type="application/pdf"
    )
    with pytest.raises(ValidationError, match="10 MB"):
        processor.full_clean()
    processor.dpa_file = SimpleUploadedFile("dpa.pdf", b"%PDF-1.7 signed contract", content_type="application/pdf")
    processor.full_clean()


def test_the_seeded_processors_carry_korean_and_english_texts_for_the_policy_page(db):
    meta = Processor.objects.get(name="Meta")
    assert (meta.entrusted_task_ko, meta.entrusted_task_en) == ("맞춤형 광고 서비스", "Targeted advertising services")
    assert meta.retention_text_ko == "서비스 계약 종료 시까지"
