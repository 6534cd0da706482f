"""End to end in headless Chromium: a person submits the form and follows the emailed link; a
staff member builds, reviews and releases the access package in the admin; the person downloads
the ZIP, which holds their visit logs, inquiries and consent history and nothing of anyone else."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from django.core import mail

from consent.services import grant_consent
from dsar.models import DataSubjectRequest, RequestStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def last_link(kind: str, base: str) -> str:
    match = re.search(rf"{re.escape(base)}/dsar/{kind}/\S+/", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(0)


def shot(page, name: str) -> None:
    from tests.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dsar_{name}.png"), full_page=True)


def test_a_person_gets_a_copy_of_their_data_end_to_end(
    transactional_db, live_server, settings, browser_page, chromium, alice, bob, officer, overseer, admin_login
):
    settings.SITE_URL = live_server.url
    grant_consent(subject=alice, purpose="marketing", channel="web_form", notice_text="Newsletter notice v3")
    page = browser_page

    # 1. The public form, in Korean (the browser's locale).
    page.goto(f"{live_server.url}/dsar/")
    assert page.locator("html").get_attribute("lang") == "ko"
    page.check("input[name=request_type][value=access]")
    page.fill("input[name=name]", "Alice Kim")
    page.fill("input[name=email]", "Alice@Example.com")
    shot(page, "1_form")
    page.click("button.primary")
    page.wait_for_url(f"{live_server.url}/dsar/submitted/")
    shot(page, "2_submitted")
    request = DataSubjectRequest.objects.get()
    assert request.subject is None

    # 2. The emailed link: a confirmation page, then the request is verified.
    page.goto(last_link("verify", live_server.url))
    page.click("button.primary")
    page.wait_for_selector(".ok")
    shot(page, "3_verified")
    request.refresh_from_db()
    assert request.status == RequestStatus.VERIFIED and request.subject == alice

    # 3. Staff: the admin session of a signed-in officer (password and TOTP) in the browser.
    staff_client = admin_login(officer)
    staff = chromium.new_context(locale="en-US", timezone_id="Asia/Seoul", accept_downloads=True)
    staff.add_cookies([{"name": "sessionid", "value": staff_client.cookies["sessionid"].value, "url": live_server.url}])
    admin = staff.new_page()
    admin.goto(f"{live_server.url}/admin/dsar/datasubjectrequest/")
    assert admin.locator(".dsar-days.on-track").count() == 1
    shot(admin, "4_admin_list")
    admin.goto(f"{live_server.url}/admin/dsar/datasubjectrequest/{request.pk}/workflow/")
    admin.click("form[data-action=build_package] button")
    admin.wait_for_selector("#dsar-review-package")
    with admin.expect_download() as review:
        admin.click("#dsar-review-package")
    assert review.value.suggested_filename == f"{request.reference}.zip"
    admin.reload()
    admin.click("form[data-action=release_package] button")
    admin.wait_for_selector("#confirm-action")  # the confirmation page says what will be sent
    admin.click("#confirm-yes")
    # Four eyes: the release waits for a second officer; nothing is sent yet.
    admin.wait_for_selector("#dsar-pending-approvals li[data-kind]")
    assert "Waiting for a second person's approval" in admin.inner_text(".messagelist")
    assert admin.locator("#dsar-status").get_attribute("data-status") != "completed"
    assert not any("/dsar/download/" in message.body for message in mail.outbox)
    shot(admin, "5_admin_release_waits")
    staff.close()

    # The second officer approves in their own session; the package is released.
    second = chromium.new_context(locale="en-US", timezone_id="Asia/Seoul")
    second.add_cookies(
        [{"name": "sessionid", "value": admin_login(overseer).cookies["sessionid"].value, "url": live_server.url}]
    )
    approver = second.new_page()
    approver.goto(f"{live_server.url}/admin/dsar/datasubjectrequest/{request.pk}/workflow/")
    approver.click("form[data-action=approve] button")
    approver.wait_for_selector("#confirm-action")
    approver.click("#confirm-yes")
    approver.wait_for_selector("#dsar-status[data-status=completed]")
    shot(approver, "6_admin_released")
    second.close()

    # 4. The person downloads the package from the link in the result email.
    link = last_link("download", live_server.url)
    page.set_content(f'<a id="dl" href="{link}">download</a>')
    with page.expect_download() as download_info:
        page.click("#dl")
    download = download_info.value
    from tests.conftest import ARTIFACTS

    saved = ARTIFACTS / "dsar_package.zip"
    download.save_as(str(saved))
    archive = zipfile.ZipFile(io.BytesIO(saved.read_bytes()))
    text = "\n".join(archive.read(name).decode("utf-8") for name in archive.namelist())

    visits = json.loads(archive.read("data/device_usage.json"))["records"]["subjects.VisitLog"]["rows"]
    assert len(visits) == 3 and {row["ip"] for row in visits} == {"203.0.113.7"}
    inquiries = json.loads(archive.read("data/customer_service.json"))["records"]["subjects.Inquiry"]["rows"]
    assert {row["body"] for row in inquiries} == {"Where is my order?", "The product arrived broken."}
    consents = json.loads(archive.read("data/consent_records.json"))["records"]["consent.ConsentEvent"]["rows"]
    assert len(consents) == 1 and consents[0]["notice_sha256"]
    for trace in ("bob@example.com", "Bob Lee", "198.51.100.9", "/pricing"):
        assert trace not in text
    page.goto(f"{live_server.url}/dsar/")  # a last screenshot of a page, not the blank download tab
    request.refresh_from_db()
    assert request.download_count == 1 and request.status == RequestStatus.COMPLETED
