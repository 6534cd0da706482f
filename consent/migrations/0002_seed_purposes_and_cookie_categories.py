"""Seed the purposes of policy 2.1.1-2.1.5 and the four cookie categories of CM-10."""

from django.db import migrations


def seed(apps, schema_editor):
    from consent.seed import ensure_seeded

    ensure_seeded(apps.get_model("consent", "Purpose"), apps.get_model("consent", "CookieCategory"))


class Migration(migrations.Migration):

    dependencies = [
        ('consent', '0001_initial'),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
