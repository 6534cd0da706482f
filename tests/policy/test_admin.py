from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from policy import services
from policy.models import PolicyNoticeDelivery, PolicyVersion

from .conftest import seoul

pytestmark = pytest.mark.django_db

OUT_OF_DATE = "The rules that run differ from the published policy"
VERSIONS = "/admin/policy/policyversion/"


def add_draft(client, label: str, effective_on: str, *, significant: bool = False, **fields):
    """Post the admin's "add policy version" form, as staff fill it in."""
    form = {
        "label": label,
        "is_significant": "on" if significant else "",
        "effective_at_0": effective_on,
        "effective_at_1": "00:00:00",
        "reconsent_purpose_keys": "[]",
        **fields,
    }
    return client.post(f"{VERSIONS}add/", form, headers={"accept-language": "en"})


def test_the_admin_says_when_the_published_policy_is_out_of_date(admin_login, officer):
    from thirdparty.models import Processor

    client = admin_login(officer)
    assert OUT_OF_DATE not in client.get(VERSIONS, headers={"accept-language": "en"}).content.decode()
    Processor.objects.filter(name="Google Analytics").update(entrusted_task="Usage analytics")
    assert OUT_OF_DATE not in client.get("/admin/policy/complaintinstitution/").content.decode()  # in Korean:
    assert (
        "운영 중인 규칙이 게시된 개인정보처리방침과 다릅니다"
        in client.get("/admin/policy/complaintinstitution/").content.decode()
    )
    assert OUT_OF_DATE in client.get(VERSIONS, headers={"accept-language": "en"}).content.decode()


def test_staff_announce_a_draft_from_the_admin_and_see_the_notices_progress(
    admin_login, officer, alice, now, scripted_mail
):
    client = admin_login(officer)
    response = add_draft(client, "2026-03-09", "2026-03-09", summary_ko="요약", summary_en="Summary")
    assert response.status_code == 302, response.content.decode()[:2000]
    version = PolicyVersion.objects.get(label="2026-03-09")
    assert not version.is_announced
    client.post(VERSIONS, {"action": "announce", "_selected_action": [version.pk], "confirmed": "yes"})
    version.refresh_from_db()
    assert version.is_announced and version.published_by == officer and version.frozen_html_en
    services.send_policy_notices()
    listing = client.get(VERSIONS, headers={"accept-language": "en"}).content.decode()
    assert "1 of 1 sent, 0 failed, 0 bounced" in listing
    # Announced: every field is read-only and the version cannot be deleted.
    change = client.get(f"{VERSIONS}{version.pk}/change/").content.decode()
    assert 'name="summary_en"' not in change and 'name="effective_at_0"' not in change
    assert client.get(f"{VERSIONS}{version.pk}/delete/").status_code == 403


def test_the_admin_refuses_a_date_too_close_with_the_reason(admin_login, officer, now):
    client = admin_login(officer)
    response = add_draft(client, "too-soon", "2026-03-10", significant=True)
    assert response.status_code == 200
    assert "A significant change must be announced at least 30 days before it takes effect" in response.content.decode()
    assert not PolicyVersion.objects.filter(label="too-soon").exists()


def test_a_staff_member_without_the_publish_permission_cannot_announce(admin_login, support, now):
    support.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_policyversion", "change_policyversion", "add_policyversion"])
    )
    version = services.draft_policy_version(label="next", effective_at=seoul(2026, 3, 9))
    client = admin_login(support)
    client.post(VERSIONS, {"action": "announce", "_selected_action": [version.pk], "confirmed": "yes"})
    version.refresh_from_db()
    assert not version.is_announced


def test_the_delivery_ledger_is_read_only_and_failed_notices_can_be_retried(
    admin_login, officer, alice, now, scripted_mail
):
    services.announce_policy_version(
        version=services.draft_policy_version(label="next", effective_at=seoul(2026, 3, 9)), actor=officer
    )
    scripted_mail.scripts = {"alice@example.com": ["down"]}
    services.send_policy_notices()
    delivery = PolicyNoticeDelivery.objects.get()
    client = admin_login(officer)
    listing = client.get("/admin/policy/policynoticedelivery/", headers={"accept-language": "en"}).content.decode()
    assert "SMTPServerDisconnected" in listing and "alice@example.com" not in listing
    assert client.get("/admin/policy/policynoticedelivery/add/").status_code == 403
    client.post(
        "/admin/policy/policynoticedelivery/",
        {"action": "retry_now", "_selected_action": [delivery.pk], "confirmed": "yes"},
    )
    assert services.send_policy_notices().sent == 1
