"""The request inbox: duplicates flagged on both requests and merged with a confirmation, the
list by days left, bulk assignment, reply templates, the assignee autocomplete, and a timeline in
sentences with Seoul times."""

from __future__ import annotations

import pytest

from dsar.models import DataSubjectRequest, ReplyTemplate, RequestStatus, RequestType

URL = "/admin/dsar/datasubjectrequest/{}/workflow/"
LIST = "/admin/dsar/datasubjectrequest/"


def test_a_second_request_from_the_same_email_is_flagged_on_both_and_merged_after_confirmation(
    admin_login, officer, submit, mailoutbox
):
    first = submit("alice@example.com", RequestType.DELETION)
    second = submit("Alice@Example.com", RequestType.DELETION)
    other_type = submit("alice@example.com", RequestType.ACCESS)
    client = admin_login(officer)
    for request, twin in ((first, second), (second, first)):
        page = client.get(URL.format(request.pk), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert 'id="dsar-duplicates"' in page and twin.reference in page
        assert other_type.reference not in page[page.index('id="dsar-duplicates"') :][:800]
    listing = client.get(LIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert listing.count('class="dsar-duplicate"') == 2

    mails = len(mailoutbox)
    page = client.post(
        URL.format(second.pk), {"action": "merge", "merge-into": str(first.pk)}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert 'id="confirm-action"' in page and f"as a duplicate of {first.reference}" in page
    assert DataSubjectRequest.objects.get(pk=second.pk).is_open
    client.post(URL.format(second.pk), {"action": "merge", "merge-into": str(first.pk), "confirmed": "yes"})
    merged = DataSubjectRequest.objects.get(pk=second.pk)
    assert merged.status == RequestStatus.WITHDRAWN and len(mailoutbox) == mails
    page = client.get(URL.format(second.pk), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"Closed as a duplicate of {first.reference}." in page
    assert (
        f"{second.reference} was merged into this request."
        in client.get(URL.format(first.pk), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    )


def test_the_timeline_reads_in_sentences_in_seoul_time_with_names(admin_login, officer, verified):
    request = verified("alice@example.com", RequestType.ACCESS)
    page = admin_login(officer).get(URL.format(request.pk), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    timeline = page[page.index('id="dsar-timeline"') :]
    assert "Received through Web form, from the person themself." in timeline
    assert "{'" not in timeline and "+09:00" in timeline and "UTC" not in timeline
    assert '<td id="dsar-person">Alice Kim</td>' in page and "subject #" not in page


def test_the_list_puts_open_requests_first_by_days_left(admin_login, officer, submit):
    later = submit("a@example.com", RequestType.ACCESS)
    sooner = submit("b@example.com", RequestType.ACCESS)
    DataSubjectRequest.objects.filter(pk=sooner.pk).update(due_on=later.due_on.replace(day=1))
    closed = submit("c@example.com", RequestType.ACCESS)
    DataSubjectRequest.objects.filter(pk=closed.pk).update(status=RequestStatus.WITHDRAWN, due_on=sooner.due_on)
    listing = admin_login(officer).get(LIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    positions = [listing.index(r.reference) for r in (sooner, later, closed)]
    assert positions == sorted(positions)
    assert "dsar-days" in listing


def test_bulk_assign_asks_whom_then_assigns_every_open_request(admin_login, officer, support, submit):
    requests = [submit(f"p{i}@example.com", RequestType.ACCESS) for i in range(3)]
    client = admin_login(officer)
    data = {"action": "assign_selected", "_selected_action": [r.pk for r in requests], "index": "0"}
    page = client.post(LIST, data, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="confirm-action"' in page and 'name="confirmation_choice"' in page
    assert not DataSubjectRequest.objects.filter(assignee__isnull=False).exists()
    client.post(LIST, {**data, "confirmed": "yes", "confirmation_choice": str(support.pk)})
    assert DataSubjectRequest.objects.filter(assignee=support).count() == 3


def test_the_assignee_is_chosen_with_an_autocomplete_of_staff(admin_login, officer, support, submit):
    request = submit("alice@example.com", RequestType.ACCESS)
    client = admin_login(officer)
    page = client.get(f"{LIST}{request.pk}/change/").content.decode()
    assert "admin-autocomplete" in page and 'name="assignee"' in page
    found = client.get(
        "/admin/autocomplete/",
        {"term": "sup", "app_label": "dsar", "model_name": "datasubjectrequest", "field_name": "assignee"},
    ).json()
    assert [r["text"] for r in found["results"]] == ["support"]
    # Customer support, who may not read the user list, may search it here, for active staff only.
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(username="supplier", password="x", is_staff=False)
    client = admin_login(support)
    found = client.get(
        "/admin/autocomplete/",
        {"term": "sup", "app_label": "dsar", "model_name": "datasubjectrequest", "field_name": "assignee"},
    ).json()
    assert [r["text"] for r in found["results"]] == ["support"]
    assert client.get("/admin/auth/user/").status_code == 403


@pytest.mark.parametrize("language", ["ko", "en"])
def test_a_reply_template_in_the_requests_language_is_sent_after_confirmation(
    admin_login, officer, submit, mailoutbox, language, django_capture_on_commit_callbacks
):
    ReplyTemplate.objects.create(
        name="Need ID (ko)", language="ko", body="{reference} 요청에 신분증 사본이 필요합니다."
    )
    ReplyTemplate.objects.create(name="Need ID (en)", language="en", body="For {reference} we need a copy of your ID.")
    request = submit("alice@example.com", RequestType.ACCESS, language=language)
    client = admin_login(officer)
    page = client.get(URL.format(request.pk), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    mine = ReplyTemplate.objects.get(language=language)
    other = ReplyTemplate.objects.exclude(pk=mine.pk).get()
    form = page[page.index('data-action="reply"') :]
    form = form[: form.index("</form>")]
    assert mine.name in form and other.name not in form
    mails = len(mailoutbox)
    data = {"action": "reply", "reply-template": str(mine.pk)}
    page = client.post(URL.format(request.pk), data, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="confirm-action"' in page and request.reference in page and len(mailoutbox) == mails
    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL.format(request.pk), {**data, "confirmed": "yes"})
    assert len(mailoutbox) == mails + 1 and mine.render(request) in mailoutbox[-1].body


def test_reply_templates_are_edited_in_the_admin(admin_login, officer):
    client = admin_login(officer)
    response = client.post(
        "/admin/dsar/replytemplate/add/",
        {"name": "Thanks", "language": "ko", "request_type": "", "body": "감사합니다.", "active": "on"},
    )
    assert response.status_code == 302 and ReplyTemplate.objects.get().name == "Thanks"
