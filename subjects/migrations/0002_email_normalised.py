"""Subject emails stored normalised (trimmed, lower case, NULL when empty), enforced by a check.

Existing rows are normalised first. Two rows whose addresses differ only in case or spaces are
probably one person, but which of the two holds the right name, consents and records is a
decision for the privacy officer, not for a migration: merging would rewrite foreign keys in every
app and could join two people by mistake. So the migration stops, lists how many addresses are
affected and the subject ids (no address is printed), and changes nothing; merge or correct those
subjects in the admin (move their records, delete or re-address the extra row) and run it again.
"""

import django.db.models.functions.text
from django.db import migrations, models


def normalise_email(email):
    # As subjects.models.normalise_email when this was written (a migration must not change later).
    email = (email or "").strip().lower()
    return email or None


def normalise_existing_emails(apps, schema_editor):
    DataSubject = apps.get_model("subjects", "DataSubject")
    groups: dict[str, list[int]] = {}
    changed: list[tuple[int, str | None]] = []
    for pk, email in DataSubject.objects.exclude(email=None).values_list("pk", "email").order_by("pk").iterator():
        normalised = normalise_email(email)
        if normalised is not None:
            groups.setdefault(normalised, []).append(pk)
        if normalised != email:
            changed.append((pk, normalised))
    collisions = [pks for pks in groups.values() if len(pks) > 1]
    if collisions:
        listed = "; ".join(", ".join(f"#{pk}" for pk in pks) for pks in collisions[:50])
        raise RuntimeError(
            f"{len(collisions)} email address(es) are held by more than one subject once trimmed and "
            f"lower-cased ({sum(map(len, collisions))} subjects): {listed}"
            f"{' ...' if len(collisions) > 50 else ''}. Nothing was changed. Merge or correct these "
            "subjects in the admin, then run the migration again."
        )
    for pk, normalised in changed:
        DataSubject.objects.filter(pk=pk).update(email=normalised)


class Migration(migrations.Migration):
    dependencies = [
        ("subjects", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(normalise_existing_emails, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="datasubject",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("email", django.db.models.functions.text.Lower(django.db.models.functions.text.Trim("email"))),
                    models.Q(("email", ""), _negated=True),
                ),
                name="subjects_datasubject_email_normalised",
                violation_error_message="The email address must be stored trimmed and in lower case.",
            ),
        ),
    ]
