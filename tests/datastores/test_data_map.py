"""The data map file: loaded against the real table, refused with the name of what is unknown,
dumped back in the same format; the admin's form checks the same way."""

from __future__ import annotations

import io

import pytest
import yaml
from django.core.management import CommandError, call_command

from datastores.models import EraseMode, ExternalSystem, ExternalTable
from retention.models import RetentionRule

pytestmark = pytest.mark.django_db


def test_the_example_map_loads_against_the_real_table_and_creates_its_rule(remote):
    out = io.StringIO()
    path = _write(remote.map_text)
    call_command("load_data_map", path, stdout=out)
    assert "Loaded 1 system(s), 1 table(s)." in out.getvalue()
    assert "created retention rule website_members" in out.getvalue()
    table = ExternalTable.objects.select_related("system", "rule").get()
    assert table.label == "website.members" and table.system.kind == remote.kind
    assert table.identity == {"email": "email", "phone": "mobile"}
    assert list(table.export_map.items()) == [("email", "Email"), ("name", "Name"), ("last_login_at", "Last sign-in")]
    assert table.erase_mode == EraseMode.DELETE
    rule = RetentionRule.objects.get(key="website_members")
    assert (rule.period_value, rule.period_unit, rule.active) == (365, "days", True)
    # The URL itself is never stored: only the variable's name.
    assert ExternalSystem.objects.get().url_env == "WEBSITE_DATABASE_URL"
    assert remote.url not in repr(list(ExternalSystem.objects.values()))


def test_dump_writes_back_what_load_reads(remote):
    call_command("load_data_map", _write(remote.map_text))
    out = io.StringIO()
    call_command("dump_data_map", stdout=out)
    dumped = yaml.safe_load(out.getvalue())
    original = yaml.safe_load(remote.map_text)
    system = dumped["systems"][0]
    assert {k: system[k] for k in ("key", "name", "kind", "url_env")} == {
        k: original["systems"][0][k] for k in ("key", "name", "kind", "url_env")
    }
    assert {k: v for k, v in system["tables"][0].items() if k != "source"} == original["systems"][0]["tables"][0]
    # Loading the dump again changes nothing.
    call_command("load_data_map", _write(out.getvalue()))
    assert ExternalTable.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("runs_from: last_login_at", "runs_from: last_seen"), "has no column 'last_seen'"),
        (("export: {email: Email,", "export: {e_mail: Email,"), "has no column 'e_mail'"),
        (("- table: members", "- table: member"), "there is no table 'member'"),
        (("identity: {email: email", "identity: {mail: email"), "identity 'mail' is not one of"),
    ],
)
def test_an_unknown_column_or_table_is_refused_with_its_name_and_nothing_is_written(remote, change, message):
    text = remote.map_text.replace(*change)
    with pytest.raises(CommandError, match=message):
        call_command("load_data_map", _write(text))
    assert not ExternalSystem.objects.exists() and not RetentionRule.objects.filter(key="website_members").exists()


def test_a_system_that_is_down_is_refused_on_load(remote, monkeypatch):
    monkeypatch.setenv("WEBSITE_DATABASE_URL", _closed_port_url(remote.kind))
    with pytest.raises(CommandError, match="System website could not be reached"):
        call_command("load_data_map", _write(remote.map_text))
    assert not ExternalSystem.objects.exists()


def test_the_admin_refuses_an_unknown_column_with_its_name(remote, admin_login, officer):
    call_command("load_data_map", _write(remote.map_text))
    table = ExternalTable.objects.get()
    client = admin_login(officer)
    url = f"/admin/datastores/externaltable/{table.pk}/change/"
    assert client.get(url).status_code == 200
    data = {
        "system": table.system_id,
        "table": "members",
        "identity": '{"email": "email"}',
        "runs_from": "last_login_at",
        "rule": table.rule_id,
        "export": '{"email": "Email", "nickname": "Nickname"}',
        "erase_mode": "delete",
        "overwrite": "{}",
        "category": "identity_contact",
        "source": "linked_service",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "has no column &#x27;nickname&#x27;" in response.content.decode()
    table.refresh_from_db()
    assert "nickname" not in table.export_map


def _closed_port_url(kind: str) -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return (
        f"postgresql://postgres@127.0.0.1:{port}/none"
        if kind == "postgresql"
        else f"mysql://root@127.0.0.1:{port}/none"
    )


def _write(text: str) -> str:
    import tempfile

    handle = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    handle.write(text)
    handle.close()
    return handle.name
