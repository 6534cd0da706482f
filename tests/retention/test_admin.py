from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audit.models import Approval
from privacyops.celery import app as celery_app
from privacyops.lib.actors import SYSTEM
from retention.models import DestructionRun, LegalHold, PhysicalDestruction, RunStatus, Trigger
from retention.services import destroy_expired, place_hold
from subjects.models import Inquiry, InquiryKind, VisitLog

RULES = "/admin/retention/retentionrule/"


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


def test_the_rule_list_shows_what_is_due_and_what_is_overdue(old_visits, admin_en, officer):
    # Due for 2 days: within RD-01's 5-day deadline, so due but not overdue.
    VisitLog.objects.create(visited_at=timezone.now() - relativedelta(months=3) - timedelta(days=2))
    page = admin_en(officer).get(RULES).content.decode()
    row = page[page.index("visit_logs") :]
    row = row[: row.index("</tr>")]
    assert '<td class="field-due_now">6</td>' in row
    assert '<strong style="color:#ba2121">5</strong>' in row
    assert "visit logs (visited_at)" in row


def test_preview_counts_without_destroying(old_visits, admin_en, officer, rule):
    response = admin_en(officer).post(
        RULES, {"action": "preview", "_selected_action": [rule("visit_logs").pk]}, follow=True
    )
    assert "would destroy 5 visit logs" in _messages(response)
    assert VisitLog.objects.count() == 8
    run = DestructionRun.objects.get()
    assert (run.status, run.trigger, run.triggered_by_user) == (RunStatus.DRY_RUN, Trigger.ADMIN, officer)


@pytest.fixture
def eager_celery():
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def test_run_now_enqueues_the_task_after_commit(
    old_visits, admin_en, officer, rule, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_en(officer).post(
            RULES, {"action": "run_now", "_selected_action": [rule("visit_logs").pk], "confirmed": "yes"}, follow=True
        )
        # Nothing runs before the admin's transaction commits.
        assert VisitLog.objects.count() == 8
    assert "Rules queued for destruction: 1." in _messages(response)
    assert len(callbacks) == 1
    callbacks[0]()
    assert VisitLog.objects.count() == 3
    run = DestructionRun.objects.get()
    assert (run.status, run.trigger, run.triggered_by_user) == (RunStatus.SUCCEEDED, Trigger.ADMIN, officer)


def test_staff_place_and_release_a_hold_and_the_admin_records_who(alice, admin_en, officer, overseer):
    inquiry = Inquiry.objects.filter(subject=alice).first()
    client = admin_en(officer)
    response = client.post(
        "/admin/retention/legalhold/add/",
        {
            "scope": "record",
            "content_type": ContentType.objects.get_for_model(Inquiry).pk,
            "object_id": inquiry.pk,
            "reason": "Court order 2025-123",
            "reference": "2025-123",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    hold = LegalHold.objects.get()
    assert (hold.placed_by, hold.object_id, hold.is_active) == (officer, inquiry.pk, True)

    client.post("/admin/retention/legalhold/", {"action": "release", "_selected_action": [hold.pk]})
    hold.refresh_from_db()
    # Four eyes: asking releases nothing, and the one who asked cannot approve.
    assert hold.is_active
    response = client.post(
        "/admin/retention/legalhold/",
        {"action": "approve_release", "_selected_action": [hold.pk], "confirmed": "yes"},
        follow=True,
    )
    assert "a second person must approve or refuse it" in _messages(response)
    hold.refresh_from_db()
    assert hold.is_active
    admin_en(overseer).post(
        "/admin/retention/legalhold/", {"action": "approve_release", "_selected_action": [hold.pk], "confirmed": "yes"}
    )
    hold.refresh_from_db()
    assert hold.released_by == overseer and hold.released_at is not None and not hold.is_active
    approval = Approval.objects.get()
    assert (approval.prepared_by, approval.decided_by, approval.decision) == (officer, overseer, "approved")


def test_a_hold_form_with_a_missing_target_is_refused(db, admin_en, officer):
    response = admin_en(officer).post(
        "/admin/retention/legalhold/add/", {"scope": "subject", "subject_id": 999999, "reason": "x"}
    )
    assert response.status_code == 200
    assert "No data subject with this id." in response.content.decode()
    assert not LegalHold.objects.exists()


def test_an_admin_delete_of_held_records_is_refused(alice, admin_en, officer):
    question = Inquiry.objects.get(subject=alice, kind=InquiryKind.QUESTION)
    place_hold(placed_by=officer, record=question, reason="Police request")
    client = admin_en(officer)

    response = client.post(f"/admin/subjects/inquiry/{question.pk}/delete/", {"post": "yes"}, follow=True)
    assert Inquiry.objects.filter(pk=question.pk).exists()
    assert "under a legal hold" in _messages(response)

    response = client.post(
        "/admin/subjects/inquiry/",
        {"action": "delete_selected", "_selected_action": [question.pk], "post": "yes"},
        follow=True,
    )
    assert Inquiry.objects.filter(pk=question.pk).exists()
    assert "under a legal hold" in _messages(response)


def test_an_admin_delete_of_records_without_a_hold_goes_through(alice, admin_en, officer):
    question = Inquiry.objects.get(subject=alice, kind=InquiryKind.QUESTION)
    admin_en(officer).post(f"/admin/subjects/inquiry/{question.pk}/delete/", {"post": "yes"})
    assert not Inquiry.objects.filter(pk=question.pk).exists()


def test_the_run_page_shows_progress_and_refreshes_while_running(old_visits, admin_en, officer):
    [result] = destroy_expired(actor=SYSTEM, rule_key="visit_logs", batch_size=2)
    client = admin_en(officer)
    page = client.get(f"/admin/retention/destructionrun/{result.run_id}/change/").content.decode()
    assert '<progress value="100" max="100"' in page
    assert 'http-equiv="refresh"' not in page
    DestructionRun.objects.filter(pk=result.run_id).update(status=RunStatus.RUNNING, progress_done=1, progress_total=4)
    page = client.get(f"/admin/retention/destructionrun/{result.run_id}/change/").content.decode()
    assert '<progress value="25" max="100"' in page and 'http-equiv="refresh"' in page
    listing = client.get("/admin/retention/destructionrun/").content.decode()
    assert '<progress value="25"' in listing


def test_only_the_privacy_officer_approves_and_the_certificate_says_so(old_visits, admin_en, officer, support):
    [result] = destroy_expired(actor=SYSTEM, rule_key="visit_logs")
    support.user_permissions.add(Permission.objects.get(codename="view_destructionrun"))
    client = admin_en(support)
    client.post("/admin/retention/destructionrun/", {"action": "approve", "_selected_action": [result.run_id]})
    assert DestructionRun.objects.get(pk=result.run_id).approved_by is None

    client = admin_en(officer)
    client.post("/admin/retention/destructionrun/", {"action": "approve", "_selected_action": [result.run_id]})
    run = DestructionRun.objects.get(pk=result.run_id)
    assert run.approved_by == officer

    page = client.get(f"/admin/retention/destructionrun/{run.pk}/certificate/").content.decode()
    for expected in (run.rule.public_name_en, "15-2", "5", "officer", run.get_method_display()):
        assert expected in page
    assert "203.0.113" not in page


def test_a_certificate_is_refused_to_staff_without_access(old_visits, admin_en, marketer):
    [result] = destroy_expired(actor=SYSTEM, rule_key="visit_logs")
    response = admin_en(marketer).get(f"/admin/retention/destructionrun/{result.run_id}/certificate/")
    assert response.status_code == 403


def test_physical_destruction_is_recorded_with_a_checked_certificate(db, admin_en, officer, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = admin_en(officer)
    form = {
        "description": "Seminar sign-in sheets 2022",
        "items": 40,
        "method": "shred",
        "performed_on": timezone.localdate().isoformat(),
        "performed_by": "Shred-It Korea",
        "witnessed_by": "Privacy officer",
    }
    fake = SimpleUploadedFile("certificate.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    response = client.post("/admin/retention/physicaldestruction/add/", {**form, "certificate": fake})
    assert "Upload the certificate as a PDF, PNG or JPEG file." in response.content.decode()

    settings.RETENTION_CERTIFICATE_MAX_BYTES = 100
    big = SimpleUploadedFile("certificate.pdf", b"%PDF-1.4\n" + b"0" * 200, content_type="application/pdf")
    response = client.post("/admin/retention/physicaldestruction/add/", {**form, "certificate": big})
    assert "too large" in response.content.decode()
    assert not PhysicalDestruction.objects.exists()

    settings.RETENTION_CERTIFICATE_MAX_BYTES = 10_000
    pdf = SimpleUploadedFile("Kim Alice shredding.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
    response = client.post("/admin/retention/physicaldestruction/add/", {**form, "certificate": pdf})
    assert response.status_code == 302
    record = PhysicalDestruction.objects.get()
    assert record.recorded_by == officer and record.method == "shred" and record.items == 40
    # The stored name keeps only the date and the extension, not the uploaded name.
    assert record.certificate.name.endswith(".pdf") and "Alice" not in record.certificate.name


@pytest.mark.parametrize("url", ["/admin/retention/retentionrule/", "/admin/retention/legalhold/add/"])
def test_the_retention_admin_pages_render_in_korean_and_english(db, admin_login, officer, url):
    client = admin_login(officer)
    assert client.get(url, HTTP_ACCEPT_LANGUAGE="ko").status_code == 200
    assert client.get(url, HTTP_ACCEPT_LANGUAGE="en").status_code == 200


def test_the_certificate_reads_in_korean_by_default(old_visits, admin_login, officer):
    [result] = destroy_expired(actor=SYSTEM, rule_key="visit_logs")
    page = admin_login(officer).get(f"/admin/retention/destructionrun/{result.run_id}/certificate/").content.decode()
    assert "개인정보 파기 확인서" in page
    # The legal basis in Korean, without the project's requirement ids.
    basis = page[page.index('id="certificate-basis"') :][:600]
    assert "RD-04" not in page and "처리방침" in basis and "3개월" in basis
    assert "아직 개인정보 보호책임자의 승인을 받지 않았습니다." in page
