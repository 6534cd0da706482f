"""Scheduled destruction reaches the declared tables: the members whose last sign-in is older than
the rule's 365 days go, a held person's stay, one ledger row per table, a dry run touches nothing,
and a system that is down fails its table's run alone."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from datastores.datamap import load_data_map
from privacyops.lib.actors import SYSTEM
from retention.models import DestructionRun, RunStatus
from retention.services import destroy_expired, place_hold
from subjects.models import CollectionSource, DataSubject

from .test_data_map import _closed_port_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def members(remote):
    """Three old members (one of them held through our subject), two recent, one with no sign-in."""
    ids = {
        "old": remote.add(email="old@example.com", name="Old One", mobile="010-1000-0001", days_ago=400),
        "old2": remote.add(email="Old2@Example.com ", name="Old Two", days_ago=366),
        "held": remote.add(email="held@example.com", name="Held", mobile="010-2000-0002", days_ago=500),
        # Held by phone only: the remote spelling differs from ours, the digits do not.
        "held_phone": remote.add(email=None, name="Held by phone", mobile="+82 10-3000-0003", days_ago=700),
        "recent": remote.add(email="recent@example.com", name="Recent", days_ago=364),
        "today": remote.add(email="today@example.com", name="Today", days_ago=0.1),
    }
    load_data_map(remote.map_text, actor=SYSTEM)
    return ids


def _hold(officer, **subject):
    person = DataSubject.objects.create(source=CollectionSource.CUSTOMER_SERVICE, **subject)
    return place_hold(placed_by=officer, reason="Dispute over a membership fee", subject_id=person.pk)


def test_destroy_expired_removes_exactly_the_expired_members_and_keeps_a_held_persons(remote, members, officer):
    _hold(officer, email="held@example.com")
    _hold(officer, phone="010-3000-0003")
    results = destroy_expired(rule_key="website_members", actor=SYSTEM, batch_size=1)
    external = [r for r in results if "website.members" in r.counts]
    assert len(external) == 1
    run = DestructionRun.objects.get(pk=external[0].run_id)
    assert run.status == RunStatus.SUCCEEDED and run.rule.key == "website_members"
    assert run.counts == {"website.members": {"destroyed": 2, "kept": 2}}
    assert run.batches == 2  # keyset batches of one row each, one short transaction each
    assert remote.emails() == ["held@example.com", None, "recent@example.com", "today@example.com"]
    # The ledger row holds counts, never a value from the rows.
    ledger = repr(run.__dict__)
    for personal in ("old@example.com", "Old One", "010-1000-0001", "held@example.com"):
        assert personal not in ledger


def test_every_declared_table_gets_its_own_ledger_row_and_a_rerun_finds_nothing(remote, members):
    text = remote.add_orders("(1, 'old@example.com', '2000-01-01'), (2, 'x@example.com', '2999-01-01')")
    load_data_map(text, actor=SYSTEM)
    results = destroy_expired(rule_key="website_members", actor=SYSTEM)
    counts = {label: c for r in results for label, c in r.counts.items() if "." in label and "website" in label}
    assert counts == {"website.members": {"destroyed": 4}, "website.orders": {"destroyed": 1}}
    assert DestructionRun.objects.filter(rule__key="website_members", counts__has_key="website.orders").count() == 1
    again = destroy_expired(rule_key="website_members", actor=SYSTEM)
    assert [r.counts for r in again[1:]] == [
        {"website.members": {"destroyed": 0}},
        {"website.orders": {"destroyed": 0}},
    ]


def test_the_cutoff_is_frozen_once_per_run_and_is_the_rules(remote, members):
    results = destroy_expired(rule_key="website_members", actor=SYSTEM)
    local, table = results[0], results[1]
    assert table.cutoff == local.cutoff
    assert DestructionRun.objects.get(pk=table.run_id).cutoff == local.cutoff


def test_a_dry_run_counts_and_deletes_nothing(remote, members, officer):
    _hold(officer, email="held@example.com")
    before = remote.emails()
    out = io.StringIO()
    call_command("destroy_expired", "--rule", "website_members", "--dry-run", stdout=out)
    assert remote.emails() == before
    assert "website.members: destroyed 3, kept 1" in out.getvalue()
    run = DestructionRun.objects.filter(counts__has_key="website.members").get()
    assert run.status == RunStatus.DRY_RUN


def test_a_hold_on_the_rule_keeps_the_whole_table(remote, members, officer):
    from retention.models import RetentionRule

    place_hold(placed_by=officer, reason="Regulator's inquiry", rule=RetentionRule.objects.get(key="website_members"))
    results = destroy_expired(rule_key="website_members", actor=SYSTEM)
    assert results[1].counts == {"website.members": {"destroyed": 0, "kept": 4}}
    assert len(remote.emails()) == 6


def test_a_system_that_is_down_fails_its_tables_run_and_the_rest_carries_on(remote, members, monkeypatch):
    monkeypatch.setenv("WEBSITE_DATABASE_URL", _closed_port_url(remote.kind))
    out = io.StringIO()
    with pytest.raises(CommandError, match="At least one rule failed"):
        call_command("destroy_expired", stdout=out)
    runs = DestructionRun.objects.filter(rule__key="website_members").order_by("pk")
    local, table = list(runs)
    assert local.status == RunStatus.SUCCEEDED
    assert table.status == RunStatus.FAILED and "could not be reached" in table.error
    # The other rules ran and succeeded.
    others = DestructionRun.objects.exclude(rule__key="website_members")
    assert others.exists() and set(others.values_list("status", flat=True)) == {RunStatus.SUCCEEDED}
    # Back up: the next run finishes the job.
    monkeypatch.setenv("WEBSITE_DATABASE_URL", remote.url)
    destroy_expired(rule_key="website_members", actor=SYSTEM)
    assert remote.emails() == ["recent@example.com", "today@example.com"]


def test_a_connection_lost_mid_run_fails_that_tables_run_keeping_the_committed_batches(remote, members):
    """The remote server drops our session after the first batch (an administrator's kill, a
    network cut): the batch already committed stays destroyed and counted, the run says failed."""
    import sqlalchemy as sa

    killed = []

    def kill_our_session():
        if killed:
            return
        killed.append(True)
        with remote.engine.connect() as admin:
            if remote.kind == "postgresql":
                admin.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
            else:
                for (pid,) in admin.execute(
                    sa.text(
                        "SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()"
                    )
                ):
                    admin.execute(sa.text(f"KILL {int(pid)}"))
            admin.commit()

    from datastores import destruction

    remote.dispose()  # the test's own pool must not be among the sessions killed
    from retention.models import RetentionRule

    rule = RetentionRule.objects.get(key="website_members")
    results = destruction.destroy_external(
        rule=rule,
        cutoff=rule.cutoff(),
        dry_run=False,
        batch_size=1,
        trigger="command",
        actor=None,
        heartbeat=kill_our_session,
    )
    assert killed
    [result] = results
    run = DestructionRun.objects.get(pk=result.run_id)
    assert run.status == RunStatus.FAILED and run.error
    assert run.counts == {"website.members": {"destroyed": 1}}
    assert len(remote.emails()) == 5


def test_the_admin_preview_counts_the_declared_tables_too(remote, members, admin_login, officer, monkeypatch):
    from retention.models import RetentionRule

    rule = RetentionRule.objects.get(key="website_members")
    client = admin_login(officer)
    url = "/admin/retention/retentionrule/"
    response = client.post(
        url, {"action": "preview", "_selected_action": [rule.pk]}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    messages = [str(m) for m in response.context["messages"]]
    assert any("would destroy 4 website.members" in m for m in messages), messages
    assert len(remote.emails()) == 6
    monkeypatch.setenv("WEBSITE_DATABASE_URL", _closed_port_url(remote.kind))
    response = client.post(
        url, {"action": "preview", "_selected_action": [rule.pk]}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert any("could not be reached" in str(m) for m in response.context["messages"])
