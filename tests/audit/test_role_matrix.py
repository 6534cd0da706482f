"""The role matrix over admin actions, generated from the admin registry and the role table.

Nothing here lists actions by hand. For every ModelAdmin in `admin.site._registry`, every action
it could offer, and every role in `audit/roles.py`:

- each action declares `permissions=[...]`, and each named permission resolves (through the
  admin's `has_<name>_permission`) to at least one real permission codename;
- `get_actions()` for a user of that role offers exactly the actions whose permissions the role
  table grants;
- posting each action the role is not offered, as a real signed-in user of that role (password
  and TOTP), changes nothing in the database and queues nothing;
- the auditor is offered no action that writes: posting each action it is offered changes nothing;
- the custom admin views that act (found through each admin's `get_urls()`) change nothing when
  posted by a role without the model's change permission.

docs/AUDIT.md carries the same matrix as a table; `ROLE_MATRIX_WRITE=1 pytest
tests/audit/test_role_matrix.py` rewrites it after a change.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.auth import get_permission_codename, get_user_model
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone, translation

from audit import roles
from audit.models import ApiClient
from audit.services import role_permissions, sync_roles
from consent.services import grant_consent
from policy.models import DeliveryStatus, PolicyNoticeDelivery, PolicyVersion
from retention.models import DestructionRun, LegalHold, RetentionRule, RunStatus, Trigger
from thirdparty import services as thirdparty_services
from thirdparty.models import Disclosure, DisclosureGround, ErasureChannel, JobStatus, VendorErasureJob

DOC = Path(__file__).resolve().parents[2] / "docs" / "AUDIT.md"
BEGIN, END = "<!-- role-matrix:begin -->", "<!-- role-matrix:end -->"

# Rows that change on every request whatever the action does: sessions, sign-in bookkeeping, and
# the access log (a view of a personal-data list is itself logged, by design).
VOLATILE = {
    "sessions.session",
    "audit.accesslog",
    "audit.accesslogsubject",
    "audit.accesslogchainhead",
    "otp_totp.totpdevice",
}
VOLATILE_APPS = {"axes", "django_celery_beat", "django_celery_results"}


class _RecordingUser:
    """Stands in for a user to learn which permission codenames a has_<name>_permission asks."""

    is_active = is_staff = is_authenticated = True
    is_superuser = False
    pk = id = 10**9  # a named account, as a check that refuses the system actor expects

    def __init__(self):
        self.asked: set[str] = set()

    def has_perm(self, perm, obj=None):
        self.asked.add(perm)
        return True

    def has_perms(self, perms, obj=None):
        self.asked.update(perms)
        return True

    def has_module_perms(self, app_label):
        return True


def _required_codenames(model_admin, action_name: str, func) -> dict[str, set[str] | None]:
    """For each permission name an action declares, the codenames its check asks for (None when
    the check refuses even a user holding everything: the action is never offered)."""
    result = {}
    for name in getattr(func, "allowed_permissions", ()):
        request = RequestFactory().get("/")
        request.user = _RecordingUser()
        allowed = getattr(model_admin, f"has_{name}_permission")(request)
        result[name] = set(request.user.asked) if allowed else None
    return result


def all_actions():
    """(model admin, action name, function, description) for every action any admin can offer."""
    found = []
    for model, model_admin in sorted(admin.site._registry.items(), key=lambda kv: kv[0]._meta.label):
        for func, name, description in model_admin._get_base_actions():
            found.append((model_admin, name, func, str(description) % admin.utils.model_format_dict(model._meta)))
    return found


_granted: dict[str, set[str]] = {}


@pytest.fixture(autouse=True)
def _fresh_role_codenames():
    _granted.clear()  # each test has its own database
    yield
    _granted.clear()


def role_codenames(role: str) -> set[str]:
    if role not in _granted:
        available = list(Permission.objects.select_related("content_type"))
        _granted[role] = {f"{p.content_type.app_label}.{p.codename}" for p in role_permissions(role, available)}
    return _granted[role]


def expected_offer(role: str, model_admin, func, name) -> bool:
    granted = role_codenames(role)
    required = _required_codenames(model_admin, name, func)
    return all(codenames is not None and codenames <= granted for codenames in required.values())


def role_users() -> dict[str, object]:
    users = {}
    for i, role in enumerate(roles.ROLES):
        user = get_user_model().objects.create_user(
            username=f"role{i}", email=f"role{i}@pltt.xyz", password="Correct-Horse-42", is_staff=True
        )
        user.groups.add(Group.objects.get(name=role))
        users[role] = get_user_model().objects.get(pk=user.pk)
    return users


def offered(model_admin, user) -> set[str]:
    request = RequestFactory().get("/")
    request.user = user
    return set(model_admin.get_actions(request))


def snapshot() -> dict[str, list]:
    state = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if label in VOLATILE or model._meta.app_label in VOLATILE_APPS or not model._meta.managed:
            continue
        state[label] = list(model._base_manager.order_by("pk").values_list())
    return state


def diff(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after.get(label)]


@pytest.fixture
def world(db, alice, bob, officer):
    """One row or more behind every action, so a wrongly allowed action has something to change."""
    sync_roles()
    LegalHold.objects.create(scope="subject", subject_id=alice.pk, reason="Litigation", placed_by=officer)
    DestructionRun.objects.create(
        rule=RetentionRule.objects.get(key="visit_logs"),
        rule_key="visit_logs",
        trigger=Trigger.BEAT,
        status=RunStatus.SUCCEEDED,
        method="delete",
        finished_at=timezone.now(),
    )
    thirdparty_services.create_erasure_jobs(subject=bob, reference="DSAR-MATRIX")
    VendorErasureJob.objects.filter(reference="DSAR-MATRIX").update(
        status=JobStatus.FAILED, channel=ErasureChannel.EMAIL
    )
    thirdparty_services.connect_youtube_grant(
        subject=alice, access_token="ya29.matrix", refresh_token="1//matrix", channel_id="UCmatrix"
    )
    for status in ("draft", "approved"):
        Disclosure.objects.create(
            authority="Seoul Gangnam Police Station",
            ground=DisclosureGround.INVESTIGATION,
            basis_detail="Criminal Procedure Act art. 199(2)",
            data_disclosed="Name, email",
            status=status,
            approved_by=officer if status == "approved" else None,
            approved_at=timezone.now() if status == "approved" else None,
        )
    draft = PolicyVersion.objects.create(label="matrix-next", effective_at=timezone.now() + timedelta(days=40))
    PolicyNoticeDelivery.objects.create(version=draft, subject=alice, status=DeliveryStatus.FAILED, attempts=3)
    grant_consent(subject=alice, purpose="marketing", channel="web_form", notice_text="Marketing notice v1")
    client = ApiClient(name="website")
    client.issue_key()
    client.save()
    from dsar.services import submit_request

    submit_request(request_type="access", name="Alice Kim", email="alice@example.com")
    mail.outbox.clear()
    return role_users()


def _post_action(client, model_admin, name):
    opts = model_admin.opts
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    pks = [str(pk) for pk in model_admin.model._default_manager.values_list("pk", flat=True)[:50]]
    # "post" confirms delete_selected's intermediate page, "confirmed" (with its note) the project's
    # confirmation page (privacyops.lib.admin.confirm_first): the act itself is tried.
    data = {"action": name, helpers.ACTION_CHECKBOX_NAME: pks, "index": 0, "post": "yes", "confirmed": "yes"}
    return client.post(url, {**data, "confirmation_note": "Receipt from the processor, ticket 1."})


def test_every_action_declares_permissions_that_name_a_real_permission(db):
    sync_roles()
    known = {f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type")}
    problems = []
    for model_admin, name, func, _description in all_actions():
        where = f"{model_admin.opts.label}.{name}"
        if not getattr(func, "allowed_permissions", None):
            problems.append(f"{where}: no permissions=[...]")
            continue
        for perm_name, codenames in _required_codenames(model_admin, name, func).items():
            if codenames is None:
                continue  # never offered (e.g. delete on a ledger)
            if not codenames:
                problems.append(f"{where}: has_{perm_name}_permission asks for no permission")
            elif codenames - known:
                problems.append(f"{where}: unknown permission {sorted(codenames - known)}")
    assert not problems, problems


def test_each_role_is_offered_exactly_the_actions_its_permissions_grant(world):
    mismatches = []
    for role, user in world.items():
        for model_admin, name, func, _description in all_actions():
            want = expected_offer(role, model_admin, func, name)
            got = name in offered(model_admin, user)
            if want != got:
                mismatches.append(f"{role}: {model_admin.opts.label}.{name} offered={got} expected={want}")
    assert not mismatches, mismatches


def test_the_officer_only_acts_are_offered_to_the_officer_alone(world):
    officer_only = {"retention.legalhold.release", "retention.retentionrule.run_now", "thirdparty.oauthgrant.revoke"}
    officer_only |= {"thirdparty.vendorerasurejob.confirm_received", "thirdparty.disclosure.mark_disclosed"}
    for role, user in world.items():
        for model_admin, name, _func, _d in all_actions():
            key = f"{model_admin.opts.label_lower}.{name}"
            if key in officer_only:
                assert (name in offered(model_admin, user)) == (role == roles.PRIVACY_OFFICER), (role, key)


def test_posting_an_action_a_role_is_not_offered_changes_nothing(
    world, admin_login, django_capture_on_commit_callbacks
):
    for role, user in world.items():
        client = admin_login(user)
        for model_admin, name, _func, _d in all_actions():
            if name in offered(model_admin, user):
                continue
            before = snapshot()
            with django_capture_on_commit_callbacks() as queued:
                response = _post_action(client, model_admin, name)
            assert response.status_code in (200, 302, 403), (role, model_admin.opts.label, name, response.status_code)
            assert diff(before, snapshot()) == [], (role, model_admin.opts.label, name)
            assert queued == [] and mail.outbox == [], (role, model_admin.opts.label, name)


def test_the_auditor_is_offered_no_action_that_writes(world, admin_login, django_capture_on_commit_callbacks):
    auditor = world[roles.AUDITOR]
    client = admin_login(auditor)
    for model_admin, name, _func, _d in all_actions():
        if name not in offered(model_admin, auditor):
            continue
        before = snapshot()
        with django_capture_on_commit_callbacks() as queued:
            response = _post_action(client, model_admin, name)
        assert response.status_code in (200, 302, 403), (model_admin.opts.label, name)
        assert diff(before, snapshot()) == [], (model_admin.opts.label, name)
        assert queued == [] and mail.outbox == [], (model_admin.opts.label, name)


def custom_views():
    """(model admin, url name, pattern) for every view an admin adds beyond Django's own."""
    found = []
    for _model, model_admin in sorted(admin.site._registry.items(), key=lambda kv: kv[0]._meta.label):
        own = {p.name for p in admin.ModelAdmin.get_urls(model_admin)}
        for pattern in model_admin.get_urls():
            if pattern.name and pattern.name not in own:
                found.append((model_admin, pattern.name, pattern))
    return found


def _url_for(model_admin, url_name, pattern, alice) -> str:
    kwargs = {}
    for param, converter in re.findall(r"<(?:(\w+):)?(\w+)>", str(pattern.pattern)):
        converter, param = (param, converter) if param else ("str", converter)
        if param == "subject_id":
            kwargs[param] = alice.pk
        elif converter == "int":
            kwargs[param] = model_admin.model._default_manager.values_list("pk", flat=True).first() or 1
        else:
            kwargs[param] = "package"
    return reverse(f"admin:{url_name}", kwargs=kwargs)


def test_the_custom_admin_views_refuse_to_act_for_roles_without_the_change_permission(
    world, alice, admin_login, django_capture_on_commit_callbacks
):
    views = custom_views()
    assert {name for _a, name, _p in views} >= {"dsar_datasubjectrequest_workflow", "consent_consentevent_receipt"}
    for role, user in world.items():
        client = admin_login(user)
        for model_admin, url_name, pattern in views:
            opts = model_admin.opts
            if user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}"):
                continue
            url = _url_for(model_admin, url_name, pattern, alice)
            for action in getattr(model_admin, "ACTIONS", None) or [""]:
                data = {"action": action, "reason": "DSAR-2026-0001 check", "note": "n", f"{action}-note": "n"}
                before = snapshot()
                with django_capture_on_commit_callbacks() as queued:
                    response = client.post(url, data)
                assert response.status_code < 500, (role, url, action)
                assert diff(before, snapshot()) == [], (role, url, action)
                assert queued == [] and mail.outbox == [], (role, url, action)


def matrix_table() -> str:
    """The role-by-action table, from the registry and the role table (no database user needed)."""
    role_names = list(roles.ROLES)
    lines = [
        "| model | action | " + " | ".join(role_names) + " |",
        "|---|---|" + "---|" * len(role_names),
    ]
    for model_admin, name, func, description in all_actions():
        if name == "delete_selected":
            continue  # Django's own, governed by each model's delete permission (listed below)
        if getattr(func, "allowed_permissions", None):
            cells = ["yes" if expected_offer(role, model_admin, func, name) else "-" for role in role_names]
        else:
            cells = ["**no permission declared**"] * len(role_names)  # the first test fails meanwhile
        label = f"{model_admin.opts.verbose_name} ({model_admin.opts.label_lower})"
        lines.append(f"| {label} | {description} (`{name}`) | " + " | ".join(cells) + " |")
    deletable = [
        f"{m.opts.label_lower}: " + ", ".join(r for r in role_names if expected_offer(r, m, f, n))
        for m, n, f, _d in all_actions()
        if n == "delete_selected" and any(expected_offer(r, m, f, n) for r in role_names)
    ]
    lines += ["", 'Django\'s "delete selected" is offered only where a role holds the delete permission:', ""]
    lines += [f"- {entry}" for entry in deletable]
    return "\n".join(lines)


def test_docs_audit_carries_the_generated_role_matrix(db):
    sync_roles()
    with translation.override("en"):
        table = matrix_table()
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, "docs/AUDIT.md lacks the role-matrix markers"
    head, rest = text.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    if os.environ.get("ROLE_MATRIX_WRITE") == "1":
        DOC.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}", encoding="utf-8")
    current = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert current == table or os.environ.get("ROLE_MATRIX_WRITE") == "1", (
        "docs/AUDIT.md's role matrix is out of date: run ROLE_MATRIX_WRITE=1 pytest tests/audit/test_role_matrix.py"
    )
