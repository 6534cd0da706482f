from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from policy import services
from policy.models import PolicyVersion, VersionFrozen
from privacyops.lib.hooks import current_policy_version

from .conftest import seoul

pytestmark = pytest.mark.django_db


def draft(label: str, effective, significant: bool = False, **extra) -> PolicyVersion:
    return services.draft_policy_version(label=label, effective_at=effective, is_significant=significant, **extra)


def test_the_version_in_force_is_recorded_with_consents():
    assert current_policy_version() == services.current_version().label == "2025-06-01"


@pytest.mark.parametrize(
    ("days", "significant", "allowed"),
    [(6, False, False), (7, False, True), (29, True, False), (30, True, True)],
)
def test_a_version_needs_7_days_notice_and_30_when_significant(english, now, officer, days, significant, allowed):
    # Announced at 15:00 on 1 March; counted in Seoul calendar days, so midnight on day N counts.
    effective = seoul(2026, 3, 1) + timedelta(days=days)
    if not allowed:
        with pytest.raises(services.PolicyError, match=f"at least {30 if significant else 7} days"):
            draft("next", effective, significant)
        unchecked = PolicyVersion.objects.create(label="next", effective_at=effective, is_significant=significant)
        with pytest.raises(services.PolicyError):
            services.announce_policy_version(version=unchecked, actor=officer)
        with pytest.raises(ValidationError):
            unchecked.full_clean()
        assert not PolicyVersion.objects.get(label="next").is_announced
    else:
        version = services.announce_policy_version(version=draft("next", effective, significant), actor=officer)
        assert version.announced_at is not None and version.published_by == officer


def test_only_a_publisher_may_announce(now, support, officer):
    version = draft("next", seoul(2026, 3, 9))
    with pytest.raises(services.NotAllowed):
        services.announce_policy_version(version=version, actor=support)
    from django.contrib.auth.models import Permission

    support.user_permissions.add(Permission.objects.get(codename="publish_policyversion"))
    support = type(support).objects.get(pk=support.pk)  # permissions are cached per instance
    assert services.announce_policy_version(version=version, actor=support).is_announced


def test_an_announced_version_is_frozen(english, now, officer):
    version = services.announce_policy_version(version=draft("next", seoul(2026, 3, 9)), actor=officer)
    version.summary_en = "Rewritten afterwards"
    with pytest.raises(VersionFrozen):
        version.save()
    with pytest.raises(services.PolicyError, match="already announced"):
        services.announce_policy_version(version="next", actor=officer)
    assert PolicyVersion.objects.get(label="next").summary_en == ""


def test_a_frozen_version_does_not_change_when_a_processor_is_renamed(now, officer, client):
    from thirdparty.models import Processor

    version = services.announce_policy_version(version=draft("next", seoul(2026, 3, 9)), actor=officer)
    frozen_ko, frozen_en = version.frozen_html_ko, version.frozen_html_en
    assert "Stibee" in frozen_en
    Processor.objects.filter(name="Stibee").update(name="Stibee Mailer")
    version.refresh_from_db()
    assert (version.frozen_html_ko, version.frozen_html_en) == (frozen_ko, frozen_en)
    archived = client.get("/privacy/versions/next/", headers={"accept-language": "en"}).content.decode()
    assert "Stibee" in archived and "Stibee Mailer" not in archived
    # The page serves the version in force; the rename waits for a version that states it.
    assert "Stibee Mailer" not in client.get("/privacy/").content.decode()


def test_the_out_of_date_flag_follows_the_records_until_a_new_version_is_announced(english, now, officer):
    from thirdparty.models import Processor

    assert services.policy_is_out_of_date() is False
    Processor.objects.filter(name="Meta").update(name="Meta Platforms")
    assert services.policy_is_out_of_date() is True
    # A processor change is significant (policy 7): a 7-day version is refused, a 30-day one goes.
    with pytest.raises(services.PolicyError, match="significant"):
        services.announce_policy_version(version=draft("minor", seoul(2026, 3, 9)), actor=officer)
    services.announce_policy_version(version=draft("major", seoul(2026, 3, 31), significant=True), actor=officer)
    # Announced, not in force: the rules that run still differ from the published policy.
    assert services.policy_is_out_of_date() is True
    assert services.covering_version().label == "major"
    now.move_to(seoul(2026, 3, 31, 0, 0, 1))
    assert services.policy_is_out_of_date() is False


def test_officer_and_institution_edits_mark_the_policy_out_of_date():
    from policy.models import ComplaintInstitution, PrivacyOfficer

    PrivacyOfficer.objects.update(phone="02-000-0000")
    assert services.policy_is_out_of_date() is True
    PrivacyOfficer.objects.update(phone="02-568-9181")
    assert services.policy_is_out_of_date() is False
    ComplaintInstitution.objects.filter(phone="1301").update(active=False)
    assert services.policy_is_out_of_date() is True


def test_a_retention_rule_change_marks_the_policy_out_of_date():
    from retention.models import RetentionRule

    RetentionRule.objects.filter(key="visit_logs").update(period_value=6)
    assert services.policy_is_out_of_date() is True


def test_upcoming_versions_are_shown_with_their_effective_date_and_take_over_on_that_date(now, officer, client):
    services.announce_policy_version(
        version=draft(
            "2026-03-09",
            seoul(2026, 3, 9),
            summary_ko="문의 기록 보유 기간 명시",
            summary_en="States how long inquiries are kept",
        ),
        actor=officer,
    )
    page = client.get("/privacy/", headers={"accept-language": "en"}).content.decode()
    assert "takes effect on March 9, 2026" in page and 'href="/privacy/versions/2026-03-09/"' in page
    archive = client.get("/privacy/versions/").content.decode()
    assert "2026년 3월 9일" in archive and "시행 예정" in archive and "2025년 1월 2일" in archive
    assert "문의 기록 보유 기간 명시" in archive
    assert current_policy_version() == "2025-06-01"
    now.move_to(seoul(2026, 3, 9, 0, 0, 1))
    assert current_policy_version() == "2026-03-09"
    assert "버전 2026-03-09" in client.get("/privacy/").content.decode()


def test_the_archive_serves_frozen_texts_and_nothing_else(now, officer, client):
    draft("draft-only", seoul(2026, 4, 1))
    assert client.get("/privacy/versions/2025-01-02/").status_code == 200
    assert "2025년 1월 2일" in client.get("/privacy/versions/2025-01-02/").content.decode()
    assert client.get("/privacy/versions/draft-only/").status_code == 404
    assert client.get("/privacy/versions/nope/").status_code == 404
    assert client.get("/privacy/versions/..%2F..%2Fetc/").status_code == 404


def test_a_new_version_must_take_effect_after_the_one_before(english, now, officer):
    services.announce_policy_version(version=draft("a", seoul(2026, 3, 20)), actor=officer)
    with pytest.raises(services.PolicyError, match="after version a"):
        services.announce_policy_version(version=draft("b", seoul(2026, 3, 10)), actor=officer)


def test_a_label_with_odd_characters_is_refused(english):
    with pytest.raises(services.PolicyError, match="letters, digits"):
        draft("v 2/../x", seoul(2030, 1, 1))
