"""A person's request, as they live it, in headless Chromium and in Korean: the form, the
confirmation link from the email, the status page, and the download of their data once staff
released it, from the status page. Screenshots at desktop (1366 px) and phone (390 px) width go
to test-artifacts/; no Korean page shows an English UI word (tests/english_scan.py)."""

from __future__ import annotations

import re
import zipfile

import pytest
from django.core import mail

from dsar import services
from dsar.models import DataSubjectRequest, RequestStatus
from tests.english_scan import english_on_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}


def shots(page, name: str) -> None:
    """Screenshot at both widths, and check the Korean page for English words."""
    from tests.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(ARTIFACTS / f"subject_dsar_{name}_{label}.png"), full_page=True)
        # Nothing sticks out sideways on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, (name, label)
    page.set_viewport_size({"width": 1366, "height": 900})
    assert page.locator("html").get_attribute("lang") == "ko"
    assert english_on_page(page) == [], (name, english_on_page(page))


def mailed_link(kind: str, base: str) -> str:
    match = re.search(rf"{re.escape(base)}/dsar/{kind}/\S+/", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(0)


def test_a_person_asks_for_their_data_and_downloads_it_from_the_status_page(
    live_server, settings, browser_page, alice, officer, overseer
):
    settings.SITE_URL = live_server.url
    page = browser_page

    # 1. The form, in Korean (the browser's language).
    page.goto(f"{live_server.url}/dsar/")
    page.check("input[name=request_type][value=access]")
    page.fill("input[name=name]", "김앨리스")
    page.fill("input[name=email]", "alice@example.com")
    shots(page, "1_form")
    page.click("button.primary")
    page.wait_for_url(f"{live_server.url}/dsar/submitted/")
    shots(page, "2_submitted")

    # 2. The link in the email: a confirmation button, then the confirmed request.
    page.goto(mailed_link("verify", live_server.url))
    shots(page, "3_confirm")
    page.click("button.primary")
    page.wait_for_selector(".ok")
    shots(page, "4_confirmed")
    request = DataSubjectRequest.objects.get()
    assert request.status == RequestStatus.VERIFIED

    # The confirmation link opened again: it says it was used and leads to the status page.
    verify_link = None
    for message in mail.outbox:
        found = re.search(rf"{re.escape(live_server.url)}/dsar/verify/\S+/", message.body)
        verify_link = found.group(0) if found else verify_link
    page.goto(verify_link)
    assert page.is_visible("#status-link")
    shots(page, "5_link_used")
    page.click("#status-link")
    page.wait_for_selector("dl.card")
    assert request.reference in page.inner_text("dl.card")
    assert page.locator("#download-package").count() == 0  # nothing released yet
    shots(page, "6_status_open")
    status_url = page.url

    # 3. Staff build, review and release the package (their own journeys are tested elsewhere).
    services.build_access_package(request=request, actor=officer)
    request.refresh_from_db()
    services.review_package(request=request, actor=officer, ip="192.0.2.10")
    services.release_access_package(request=request, actor=officer)
    services.decide_request_approval(request=request, actor=overseer, approve=True)
    request.refresh_from_db()
    assert request.status == RequestStatus.COMPLETED

    # 4. The status page now offers the download.
    page.goto(status_url)
    assert page.is_visible("#download-package")
    assert "내려받" in page.inner_text("#package")
    shots(page, "7_status_released")
    with page.expect_download() as download:
        page.click("#download-package")
    assert download.value.suggested_filename == f"{request.reference}.zip"
    archive = zipfile.ZipFile(download.value.path())
    text = "\n".join(archive.read(name).decode("utf-8") for name in archive.namelist())
    assert "Where is my order?" in text  # alice's inquiry is in her package
    request.refresh_from_db()
    assert request.download_count == 1
    page.goto(status_url)
    assert "남은 횟수" in page.inner_text("#package")


def test_an_upload_over_the_limit_keeps_what_the_person_typed(live_server, settings, browser_page, tmp_path):
    settings.DSAR_UPLOAD_MAX_BYTES = 50_000
    big = tmp_path / "위임장.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * 120_000)
    page = browser_page
    page.goto(f"{live_server.url}/dsar/")
    page.check("input[name=request_type][value=access]")
    page.fill("input[name=name]", "박대리인의 의뢰인")
    page.fill("input[name=email]", "erin@example.com")
    page.check("input[name=is_agent]")
    page.fill("input[name=agent_name]", "박대리")
    page.fill("input[name=agent_email]", "dan@example.com")
    page.fill("input[name=agent_relationship]", "변호사")
    page.set_input_files("input[name=power_of_attorney]", str(big))
    page.click("button.primary")
    page.wait_for_selector(".errorlist")
    assert page.input_value("input[name=email]") == "erin@example.com"
    assert page.input_value("input[name=agent_name]") == "박대리"
    assert page.input_value("input[name=agent_relationship]") == "변호사"
    assert "입력하신 다른 내용은 그대로 있습니다" in page.inner_text(".errorlist")
    shots(page, "8_upload_too_large")
    assert not DataSubjectRequest.objects.exists()
