"""The policy states the declared tables through the registry's categories, like our own models:
loading the map makes the live rendering a draft; the version in force is unchanged until a new
one is announced, which is refused until the new rule has its public texts."""

from __future__ import annotations

import pytest

from datastores.datamap import load_data_map
from policy.content import collect_policy_facts
from policy.services import (
    missing_policy_items,
    policy_is_out_of_date,
    render_policy_document,
    significant_changes,
)
from privacyops.lib.actors import SYSTEM
from tests.policy.conftest import put_generated_version_in_force

pytestmark = pytest.mark.django_db


def test_declared_tables_appear_in_the_draft_not_in_the_policy_in_force(remote, client):
    put_generated_version_in_force()
    assert not policy_is_out_of_date()
    before = collect_policy_facts()
    load_data_map(remote.map_text, actor=SYSTEM)
    assert policy_is_out_of_date()
    draft = render_policy_document(facts=collect_policy_facts(), version=None, language="en")
    # The table is stated through its category's public items (policy.CollectedItem, written for
    # the public in both languages), not its export labels; its rule is a row of the retention table.
    in_force = render_policy_document(facts=before, version=None, language="en")
    assert draft != in_force and "Last sign-in" not in draft
    assert "website_members" not in client.get("/privacy/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Last sign-in" not in client.get("/privacy/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # New kinds of data: a significant change (30 days' notice), and the new rule needs its public texts.
    assert significant_changes(before, collect_policy_facts())
    assert any("website_members" in item for item in missing_policy_items())


def test_no_map_no_change_to_the_facts(db):
    assert not [e for e in collect_policy_facts()["registry"] if e["model"].startswith("datastore:")]
