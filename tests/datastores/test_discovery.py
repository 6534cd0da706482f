"""Discovery: scan_datastore samples values (never stored) and flags columns that look like
personal data; an undeclared `phone_number` column of 010- numbers is drift, shown on the desk."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from datastores.datamap import load_data_map
from datastores.models import ColumnKind, DiscoveredColumn
from datastores.scan import classify
from privacyops.lib.actors import SYSTEM

pytestmark = pytest.mark.django_db


@pytest.fixture
def scanned(remote):
    remote.add(email="a@example.com", name="A", mobile="010-1234-5678")
    remote.execute(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, phone_number VARCHAR(40), buyer_ip VARCHAR(45), "
        "card VARCHAR(30), rrn VARCHAR(20), customer_name VARCHAR(50), note VARCHAR(100), placed_at DATE)"
    )
    for i in range(1, 21):
        remote.execute(
            "INSERT INTO orders VALUES (:id, :phone, :ip, :card, :rrn, :name, :note, '2026-01-01')",
            id=i,
            phone=f"010-{1000 + i}-{2000 + i}",
            ip=f"203.0.113.{i}",
            card="4111 1111 1111 1111",
            rrn=f"900101-1{i:06d}",
            name=f"Customer {i}",
            note="left at the door",
        )
    load_data_map(remote.map_text, actor=SYSTEM)
    out = io.StringIO()
    call_command("scan_datastore", "website", stdout=out)
    return out.getvalue()


def test_scan_flags_the_undeclared_phone_number_column_of_korean_mobiles(scanned):
    assert "website.orders.phone_number: korean_mobile (20 of 20 sampled values) - NOT DECLARED" in scanned
    kinds = dict(DiscoveredColumn.objects.filter(table="orders").values_list("column", "kind"))
    assert kinds == {
        "phone_number": ColumnKind.KOREAN_MOBILE,
        "buyer_ip": ColumnKind.IP,
        "card": ColumnKind.CARD,
        "rrn": ColumnKind.RRN,
        "customer_name": ColumnKind.NAME,
    }
    # The declared members table's columns are found and marked as covered.
    assert "website.members.email: email (1 of 1 sampled values) - declared" in scanned
    assert "website.members.mobile: korean_mobile (1 of 1 sampled values) - NOT DECLARED" not in scanned


def test_no_sampled_value_is_stored(scanned):
    stored = repr(list(DiscoveredColumn.objects.values()))
    for value in ("010-1001-2001", "203.0.113.1", "4111", "900101", "Customer 1", "a@example.com"):
        assert value not in stored


def test_the_desk_lists_the_drift(scanned, admin_login, officer):
    page = admin_login(officer).get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    section = page[page.index('id="desk-data-map"') :]
    section = section[: section.index("</section>")]
    assert "<code>phone_number</code>" in section and "Korean mobile numbers" in section
    assert "<code>email</code>" not in section  # declared: not drift
    # No value on the desk either.
    assert "010-1001-2001" not in page


def test_declaring_the_column_clears_it_from_the_desk(scanned, remote, admin_login, officer):
    text = remote.map_text + (
        "      - table: orders\n"
        "        identity: {phone: phone_number}\n"
        "        runs_from: placed_at\n"
        "        rule: website_members\n"
        "        category: customer_service\n"
        "        export: {phone_number: Phone, buyer_ip: IP, card: Card, rrn: RRN, customer_name: Name}\n"
    )
    load_data_map(text, actor=SYSTEM)
    page = admin_login(officer).get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Every likely-personal column the last scans found is in the data map." in page


def test_an_unknown_system_is_refused():
    with pytest.raises(CommandError, match="No declared system with the key 'crm'"):
        call_command("scan_datastore", "crm")


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["010-1234-5678", "01098765432", "+82 10-1111-2222"], ColumnKind.KOREAN_MOBILE),
        (["02-123-4567", "031-555-1234"], None),  # landlines are not mobiles
        (["4111111111111111", "5500 0000 0000 0004"], ColumnKind.CARD),
        (["4111111111111112"], None),  # fails the Luhn check
        (["900101-1234567", "0012314123456"], ColumnKind.RRN),
        (["2001:db8::1", "10.0.0.1"], ColumnKind.IP),
        (["someone@example.co.kr"], ColumnKind.EMAIL),
        (["hello", "world"], None),
    ],
)
def test_classify(values, kind):
    assert classify(values)[0] == kind
