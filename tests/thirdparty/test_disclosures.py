from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db import IntegrityError, transaction

from thirdparty import services
from thirdparty.models import DisclosedSubject, Disclosure, DisclosureGround, DisclosureStatus


@pytest.fixture
def disclosure(alice):
    disclosure = Disclosure.objects.create(
        authority="Seoul Gangnam Police Station",
        ground=DisclosureGround.INVESTIGATION,
        basis_detail="Criminal Procedure Act art. 199(2), request no. 2025-123",
        data_disclosed="Name, email, visit logs of 2025-01",
    )
    DisclosedSubject.objects.create(disclosure=disclosure, subject=alice)
    return disclosure


@pytest.fixture
def privacy_officer(django_user_model):
    user = django_user_model.objects.create_user(username="cpo", password="Correct-Horse-42", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["approve_disclosure", "mark_disclosed"], content_type__app_label="thirdparty"
        )
    )
    return django_user_model.objects.get(pk=user.pk)


def test_a_disclosure_cannot_be_marked_disclosed_before_approval(disclosure, privacy_officer):
    with pytest.raises(services.ThirdPartyError, match="approved by the privacy officer"):
        services.mark_disclosed(disclosure=disclosure, user=privacy_officer)
    disclosure.refresh_from_db()
    assert disclosure.status == DisclosureStatus.DRAFT


def test_only_a_user_with_the_approve_permission_may_approve(disclosure, support, privacy_officer):
    with pytest.raises(services.ThirdPartyError, match="privacy officer"):
        services.approve_disclosure(disclosure=disclosure, user=support)

    services.approve_disclosure(disclosure=disclosure, user=privacy_officer)
    with pytest.raises(services.ThirdPartyError, match="thirdparty.mark_disclosed"):
        services.mark_disclosed(disclosure=disclosure, user=support)
    services.mark_disclosed(disclosure=disclosure, user=privacy_officer)

    disclosure.refresh_from_db()
    assert disclosure.status == DisclosureStatus.DISCLOSED
    assert disclosure.approved_by == privacy_officer and disclosure.disclosed_at >= disclosure.approved_at


def test_the_database_refuses_a_disclosed_row_without_an_approver(disclosure):
    with pytest.raises(IntegrityError), transaction.atomic():
        Disclosure.objects.filter(pk=disclosure.pk).update(status=DisclosureStatus.DISCLOSED)


def test_the_admin_hides_the_approve_action_from_staff_without_the_permission(
    disclosure, support, privacy_officer, admin_login
):
    support.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="thirdparty", codename__endswith="disclosure").exclude(
            codename="approve_disclosure"
        )
    )
    page = admin_login(support).get("/admin/thirdparty/disclosure/")
    assert page.status_code == 200
    assert 'value="approve"' not in page.content.decode()

    client = admin_login(privacy_officer)
    privacy_officer.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="thirdparty", codename="view_disclosure")
    )
    privacy_officer.is_staff = True
    privacy_officer.save()
    response = client.post("/admin/thirdparty/disclosure/", {"action": "approve", "_selected_action": [disclosure.pk]})
    assert response.status_code == 302
    disclosure.refresh_from_db()
    assert disclosure.status == DisclosureStatus.APPROVED


def test_telling_the_person_is_recorded(disclosure):
    told = services.record_subject_notified(disclosed_subject=disclosure.subjects.get())
    assert told.notified_at is not None
