from __future__ import annotations

import io
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dsar.models import DataSubjectRequest, RequestStatus

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
PDF = b"%PDF-1.7\n" + b"0" * 200


def form_data(**overrides):
    data = {"request_type": "access", "name": "Alice Kim", "email": "alice@example.com", "phone": "", "details": ""}
    data.update(overrides)
    return data


def upload(content: bytes, name: str):
    file = io.BytesIO(content)
    file.name = name
    return file


def post(client, data, **extra):
    return client.post("/dsar/", data, HTTP_ACCEPT_LANGUAGE="en", **extra)


def test_the_form_is_in_korean_by_default_and_in_english_on_request(client):
    korean = client.get("/dsar/")
    english = client.get("/dsar/", HTTP_ACCEPT_LANGUAGE="en")
    assert korean.status_code == english.status_code == 200
    assert "개인정보" in korean.content.decode()
    assert "Make a request about your personal information" in english.content.decode()
    assert 'name="csrfmiddlewaretoken"' in korean.content.decode()


def test_a_known_and_an_unknown_email_get_the_same_answer_and_no_subject_is_looked_up(
    client, alice, django_capture_on_commit_callbacks, mailoutbox
):
    answers = []
    for email in ("alice@example.com", "nobody-we-know@example.com"):
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=False):
            response = post(client, form_data(email=email))
        assert not [q for q in queries.captured_queries if "subjects_datasubject" in q["sql"]]
        followed = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
        # The CSRF token is masked afresh on every page; everything else must be identical.
        page = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", followed.content)
        answers.append((response.status_code, response["Location"], followed.status_code, page))
    assert answers[0] == answers[1]
    assert answers[0][0] == 302 and answers[0][1] == "/dsar/submitted/"
    assert b"Check your email" in answers[0][3]
    assert DataSubjectRequest.objects.filter(subject__isnull=True, status=RequestStatus.SUBMITTED).count() == 2


def test_the_form_sends_a_verification_email_after_commit(client, django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True):
        post(client, form_data(email="Carol@Example.com"))
    request = DataSubjectRequest.objects.get()
    assert request.email == "carol@example.com"
    assert request.verification_sent_at is not None
    assert [m.to for m in mailoutbox] == [["carol@example.com"]]
    assert "/dsar/verify/" in mailoutbox[0].body


def test_the_form_needs_a_csrf_token(db):
    response = Client(enforce_csrf_checks=True).post("/dsar/", form_data())
    assert response.status_code == 403
    assert not DataSubjectRequest.objects.exists()


def test_missing_fields_get_a_clear_error_and_nothing_is_saved(client):
    response = post(client, {"request_type": "access", "name": "", "email": "not-an-email"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Please correct the marked fields." in body
    assert "This field is required." in body
    assert "Enter a valid email address." in body
    assert not DataSubjectRequest.objects.exists()


def test_an_unknown_request_type_is_refused(client, settings):
    response = post(client, form_data(request_type="portability"))
    assert response.status_code == 400
    settings.DSAR_OPTIONAL_REQUEST_TYPES = ["portability"]
    assert post(client, form_data(request_type="portability")).status_code == 302


def test_an_agent_request_without_a_power_of_attorney_is_refused(client):
    data = form_data(is_agent="on", agent_name="Dan Park", agent_email="dan@example.com", agent_relationship="lawyer")
    response = post(client, data)
    assert response.status_code == 400
    assert "needs their written power of attorney" in response.content.decode()
    assert not DataSubjectRequest.objects.exists()


def test_an_agent_request_with_a_power_of_attorney_is_accepted_and_the_file_kept_privately(
    client, settings, django_capture_on_commit_callbacks, mailoutbox
):
    data = form_data(
        is_agent="on",
        agent_name="Dan Park",
        agent_email="dan@example.com",
        agent_relationship="lawyer",
        power_of_attorney=upload(PDF, "Alice Kim power of attorney.PDF"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, data)
    assert response.status_code == 302
    request = DataSubjectRequest.objects.get()
    assert request.is_agent and request.contact_email == "dan@example.com"
    # The person's file name is not kept; the file lives under the private root, not MEDIA_URL.
    assert "Alice" not in request.power_of_attorney.name and request.power_of_attorney.name.endswith(".pdf")
    assert (settings.DSAR_PRIVATE_ROOT / request.power_of_attorney.name).read_bytes() == PDF
    assert mailoutbox[0].to == ["dan@example.com"]


def test_a_file_whose_content_is_not_what_its_name_says_is_refused(client):
    data = form_data(
        is_agent="on",
        agent_name="Dan Park",
        agent_email="dan@example.com",
        agent_relationship="lawyer",
        power_of_attorney=upload(b"MZ\x90\x00 this is a program", "consent.pdf"),
    )
    response = post(client, data)
    assert response.status_code == 400
    assert "Upload a PDF, JPEG or PNG file" in response.content.decode()
    # A real PNG named .pdf is refused too: the name and the content must agree.
    data["power_of_attorney"] = upload(PNG, "consent.pdf")
    assert post(client, data).status_code == 400
    assert not DataSubjectRequest.objects.exists()


def test_an_oversized_upload_is_refused_with_its_size_and_the_limit(client, settings):
    settings.DSAR_UPLOAD_MAX_BYTES = 1000
    data = form_data(
        is_agent="on",
        agent_name="Dan Park",
        agent_email="dan@example.com",
        agent_relationship="lawyer",
        power_of_attorney=upload(PDF + b"0" * 2000, "poa.pdf"),
    )
    response = post(client, data)
    assert response.status_code == 400
    assert "The file is too large" in response.content.decode()
    assert "1000\xa0bytes" in response.content.decode()


def test_a_body_far_above_the_upload_limit_is_refused_before_it_is_read(client, settings):
    settings.DSAR_UPLOAD_MAX_BYTES = 1000
    data = form_data(
        is_agent="on",
        agent_name="Dan Park",
        agent_email="dan@example.com",
        agent_relationship="lawyer",
        power_of_attorney=upload(PDF + b"0" * 200_000, "poa.pdf"),
    )
    response = post(client, data)
    assert response.status_code == 413
    assert "The upload is too large" in response.content.decode()
    assert not DataSubjectRequest.objects.exists()


def test_submissions_are_limited_per_email_whoever_sends_them(client, settings):
    settings.DSAR_RATE_LIMIT_PER_EMAIL_PER_HOUR = 2
    codes = [post(client, form_data(), REMOTE_ADDR=f"198.51.100.{i}").status_code for i in range(3)]
    assert codes == [302, 302, 429]
    assert post(client, form_data(email="other@example.com"), REMOTE_ADDR="198.51.100.9").status_code == 302
    assert DataSubjectRequest.objects.count() == 3


def test_submissions_are_limited_per_address(client, settings):
    settings.DSAR_RATE_LIMIT_PER_IP_PER_HOUR = 3
    codes = [post(client, form_data(email=f"p{i}@example.com")).status_code for i in range(4)]
    assert codes == [302, 302, 302, 429]
    limited = post(client, form_data(email="p9@example.com"))
    assert limited["Retry-After"] == "3600"
    assert "Too many requests" in limited.content.decode()
    # Another address is not affected.
    assert post(client, form_data(email="p8@example.com"), REMOTE_ADDR="192.0.2.1").status_code == 302


def test_the_limiter_stores_no_email_address_or_ip(client, settings):
    post(client, form_data(email="secret-person@example.com"), REMOTE_ADDR="203.0.113.77")
    with connection.cursor() as cursor:  # the default cache's table: what a dump of it would show
        cursor.execute(f"SELECT cache_key, value FROM {cache._table}")
        stored = repr(cursor.fetchall())
    assert "dsar:rl:" in stored
    assert "secret-person" not in stored and "203.0.113.77" not in stored


PHISHING = "Your account is suspended. Sign in at https://palette-login.example to keep it"


def test_the_verification_email_carries_no_text_typed_into_the_form(
    client, django_capture_on_commit_callbacks, mailoutbox
):
    # Anyone can type anyone's address into the form: whatever they type in the free-text fields
    # must not reach that person's inbox in a mail sent from the company's address.
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, form_data(email="victim@example.com", name=f"Alice\n\n{PHISHING}", details=PHISHING))
    assert response.status_code == 302
    request = DataSubjectRequest.objects.get()
    [message] = mailoutbox
    assert PHISHING not in message.body and PHISHING not in message.subject
    assert "Alice" not in message.body
    assert message.body.startswith(f"Hello, this is about your request {request.reference}.")


def test_no_notice_to_a_requester_carries_their_name_or_details(db):
    from pathlib import Path

    from django.template.loader import render_to_string
    from django.utils import translation

    request = DataSubjectRequest(
        reference="DSAR-TEST",
        request_type="access",
        name=PHISHING,
        details=PHISHING,
        agent_name=PHISHING,
        agent_relationship=PHISHING,
        email="victim@example.com",
    )
    templates = sorted(Path("dsar/templates/dsar/email").glob("*.txt"))
    assert len(templates) > 20
    for language in ("en", "ko"):
        with translation.override(language):
            for template in templates:
                text = render_to_string(f"dsar/email/{template.name}", {"request": request, "items": []})
                assert PHISHING not in text, template.name
