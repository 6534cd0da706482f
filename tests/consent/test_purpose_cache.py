"""Consent writes read the purposes from a copy each process keeps for a few seconds; an edit
made in the admin (this process) applies to the next write, an unknown key is looked up again."""

from __future__ import annotations

import json

import pytest

from audit.models import ApiScope
from consent import purposes
from consent.models import ConsentState, Purpose

pytestmark = pytest.mark.django_db

GRANT = {"purpose": "personalised_content", "action": "grant", "channel": "web_form", "notice_text": "I agree."}


def post(client, subject, body, key):
    return client.post(
        f"/api/consent/{subject.pk}", data=json.dumps(body), content_type="application/json", HTTP_X_API_KEY=key
    )


def test_a_purpose_edited_in_the_admin_applies_to_the_next_write(client, api_key, alice):
    key = api_key(ApiScope.CONSENT_WRITE)
    assert post(client, alice, GRANT, key).status_code == 201  # the purposes are now remembered
    purpose = Purpose.objects.get(key="personalised_content")
    purpose.consent_required = False
    purpose.save()
    response = post(client, alice, GRANT, key)
    assert response.status_code == 422
    assert "does not rely on consent" in response.json()["detail"]


def test_a_purpose_added_elsewhere_is_found_at_once(client, api_key, alice):
    key = api_key(ApiScope.CONSENT_WRITE)
    assert post(client, alice, GRANT, key).status_code == 201
    # Created without this process's signal (another server process, or a data migration).
    Purpose.objects.bulk_create([Purpose(key="newsletter_v2", name="Newsletter", consent_required=True)])
    response = post(client, alice, {**GRANT, "purpose": "newsletter_v2"}, key)
    assert response.status_code == 201
    assert ConsentState.objects.get(subject=alice, purpose__key="newsletter_v2").granted


def test_an_unknown_purpose_is_still_refused(client, api_key, alice):
    response = post(client, alice, {**GRANT, "purpose": "no_such_purpose"}, api_key(ApiScope.CONSENT_WRITE))
    assert response.status_code == 422
    assert purposes.by_key("no_such_purpose") is None
