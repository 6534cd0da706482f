from __future__ import annotations

import pytest
from django.apps import apps

from policy import services
from privacyops.lib.hooks import current_policy_version

from .conftest import seoul

pytestmark = pytest.mark.django_db


@pytest.fixture
def new_purpose():
    try:
        Purpose = apps.get_model("consent", "Purpose")
    except LookupError:
        pytest.skip("consent.Purpose has not landed")
    return Purpose.objects.create(
        key="ai_training",
        name="AI model training",
        name_ko="AI 모델 학습",
        policy_clause="2.1.6",
        legal_basis="consent",
    )


def test_a_new_purpose_is_significant_and_its_consents_are_flagged_for_recollection(
    english, now, officer, new_purpose, client
):
    assert services.purposes_needing_reconsent() == {}
    with pytest.raises(services.PolicyError, match="purposes"):
        services.announce_policy_version(
            version=services.draft_policy_version(label="minor", effective_at=seoul(2026, 3, 9)), actor=officer
        )
    version = services.draft_policy_version(label="2026-04-01", effective_at=seoul(2026, 4, 1), is_significant=True)
    services.announce_policy_version(version=version, actor=officer)
    assert services.purposes_needing_reconsent() == {"ai_training": "2026-04-01"}
    assert (
        "AI model training"
        in client.get("/privacy/versions/2026-04-01/", headers={"accept-language": "en"}).content.decode()
    )


def test_staff_may_flag_an_existing_purpose_and_unknown_keys_are_refused(english, now, officer):
    bad = services.draft_policy_version(
        label="bad", effective_at=seoul(2026, 4, 1), is_significant=True, reconsent_purpose_keys=["no_such_purpose"]
    )
    with pytest.raises(services.PolicyError, match="Unknown purpose keys: no_such_purpose"):
        services.announce_policy_version(version=bad, actor=officer)
    good = services.draft_policy_version(
        label="good", effective_at=seoul(2026, 4, 2), is_significant=True, reconsent_purpose_keys=["marketing"]
    )
    services.announce_policy_version(version=good, actor=officer)
    assert services.purposes_needing_reconsent() == {"marketing": "good"}


def test_the_consent_ledger_records_the_version_in_force(now, officer):
    assert current_policy_version() == "2025-06-01"
    services.announce_policy_version(
        version=services.draft_policy_version(label="2026-03-09", effective_at=seoul(2026, 3, 9)), actor=officer
    )
    assert current_policy_version() == "2025-06-01"  # announced, not yet in force
    now.move_to(seoul(2026, 3, 9, 0, 0, 1))
    assert current_policy_version() == "2026-03-09"


def test_the_version_in_force_changes_at_its_second_even_for_a_process_that_just_read_it(now, officer):
    """Each process keeps the label it last read for a few seconds; the copy ends when the next
    announced version takes effect, so a consent given one second after still records the new one."""
    services.announce_policy_version(
        version=services.draft_policy_version(label="2026-03-09", effective_at=seoul(2026, 3, 9)), actor=officer
    )
    now.move_to(seoul(2026, 3, 8, 23, 59, 59))
    assert current_policy_version() == "2025-06-01"
    now.move_to(seoul(2026, 3, 9, 0, 0, 1))
    assert current_policy_version() == "2026-03-09"
