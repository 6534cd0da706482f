"""Staff journeys in headless Chromium, in Korean: the officer's morning (desk, data map, "Run
now" through its confirmation page) and support handling a request from intake to close. Each
step is saved at desktop (1366 px) and phone (390 px) width in test-artifacts/, and no Korean page
on the way carries an English UI string (tests/english_scan.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from dsar.models import DataSubjectRequest, RequestStatus
from privacyops.celery import app as celery_app
from subjects.models import VisitLog
from tests.english_scan import assert_no_english

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# People's names: the test's staff accounts and subject, and the seeded privacy officer.
ALLOW = {"officer", "support", "overseer", "Alice Kim", "Jongkeun Lee"}
WIDTHS = {"desktop": 1366, "phone": 390}


def shoot(page, name: str) -> None:
    from tests.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(ARTIFACTS / f"staff_{name}_{label}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS["desktop"], "height": 900})


def korean_page(page, where: str) -> None:
    assert page.locator("html").get_attribute("lang") == "ko", where
    assert_no_english(page.content(), allow=ALLOW, where=where)


def staff_page(chromium, live_server, client):
    context = chromium.new_context(locale="ko-KR", timezone_id="Asia/Seoul", viewport={"width": 1366, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    return context, context.new_page()


@pytest.fixture
def eager():
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def test_the_officers_morning_desk_data_map_and_run_now_with_confirmation(
    live_server, chromium, officer, admin_login, eager
):
    now = timezone.now()
    VisitLog.objects.bulk_create([VisitLog(visited_at=now - timedelta(days=200), path="/old") for _ in range(200)])
    VisitLog.objects.create(visited_at=now - timedelta(days=1), path="/new")
    context, page = staff_page(chromium, live_server, admin_login(officer))

    page.goto(f"{live_server.url}/admin/")
    page.wait_for_selector("#officer-desk")
    for label in ("처리 기한이 남은 요청", "정기 작업", "데이터 지도"):
        assert label in page.inner_text("#officer-desk"), label
    assert page.locator("#desk-consent").inner_text().count("아직 데이터가 없습니다.") >= 1
    korean_page(page, "desk")
    shoot(page, "1_desk")

    page.click("a.data-map-link")
    page.wait_for_selector("#data-map")
    assert "보유 규칙과 기간" in page.inner_text("#data-map")
    korean_page(page, "data map")
    shoot(page, "2_data_map")

    page.goto(f"{live_server.url}/admin/retention/retentionrule/")
    row = page.locator("tr", has=page.locator("th.field-key", has_text="visit_logs"))
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "run_now")
    page.click("button[name=index]")
    page.wait_for_selector("#confirm-action")
    text = page.inner_text("#confirm-action")
    assert "200" in text and "보존 조치된 행은 유지됩니다" in text and "아직 아무것도 실행되지 않았습니다." in text
    assert VisitLog.objects.count() == 201
    korean_page(page, "run now confirmation")
    shoot(page, "3_run_now_confirmation")

    page.click("#confirm-yes")
    page.wait_for_selector(".messagelist")
    assert VisitLog.objects.count() == 1
    page.goto(f"{live_server.url}/admin/")
    row = page.locator('#desk-destruction tr[data-rule="visit_logs"]')
    assert "200" in row.inner_text()
    shoot(page, "4_desk_after_run")
    context.close()


def test_support_handles_a_request_from_intake_to_close(
    live_server, chromium, support, overseer, officer, admin_login, alice
):
    from dsar import services

    context, page = staff_page(chromium, live_server, admin_login(support))
    page.goto(f"{live_server.url}/admin/dsar/datasubjectrequest/add/")
    page.select_option("select[name=channel]", "phone")
    page.select_option("select[name=request_type]", "correction")
    page.fill("input[name=name]", "Alice Kim")
    page.fill("input[name=email]", "alice@example.com")
    page.fill("textarea[name=details]", "전화번호를 010-1111-3333으로 바꿔 주세요.")
    page.check("input[name=identity_checked]")
    page.fill("input[name=identity_note]", "전화로 생년월일과 주소를 확인함")
    korean_page(page, "intake")
    shoot(page, "5_intake")
    page.click("input[type=submit]")
    page.wait_for_selector(".dsar-workflow")
    request = DataSubjectRequest.objects.get()
    korean_page(page, "workflow")
    shoot(page, "6_workflow")

    # The second person confirms the identity check (four eyes), in their own session.
    services.decide_request_approval(request=request, actor=overseer, approve=True)

    page.goto(f"{live_server.url}/admin/dsar/datasubjectrequest/")
    assert "Alice Kim" in page.inner_text("#result_list") and "subject #" not in page.content()
    korean_page(page, "inbox")
    shoot(page, "7_inbox")

    page.goto(f"{live_server.url}/admin/dsar/datasubjectrequest/{request.pk}/workflow/")
    page.click("form[data-action=assign_to_me] button")
    page.wait_for_selector(".messagelist")
    page.fill("form[data-action=record_correction] textarea", "전화번호를 010-1111-3333으로 정정함")
    page.click("form[data-action=record_correction] button")
    page.wait_for_selector("#confirm-action")
    assert "정정 내용을 기록하고" in page.inner_text("#confirm-action")
    assert DataSubjectRequest.objects.get(pk=request.pk).is_open
    sent = len(mail.outbox)
    korean_page(page, "correction confirmation")
    shoot(page, "8_correction_confirmation")

    page.click("#confirm-yes")
    page.wait_for_selector("#dsar-status[data-status=completed]")
    assert DataSubjectRequest.objects.get(pk=request.pk).status == RequestStatus.COMPLETED
    assert len(mail.outbox) == sent + 1
    timeline = page.inner_text("#dsar-timeline")
    assert "{'" not in timeline and "+09:00" in timeline and "UTC" not in timeline
    korean_page(page, "closed request")
    shoot(page, "9_closed")
    context.close()
