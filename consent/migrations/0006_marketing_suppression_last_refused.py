"""The suppression list's retention runs from the last withdrawal or refusal of the address
(retention rule "marketing_suppression", 5 years); existing rows start from when they were made."""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import F


def from_created_at(apps, schema_editor):
    apps.get_model("consent", "MarketingSuppression").objects.update(last_refused_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("consent", "0005_marketing_suppression")]

    operations = [
        migrations.AddField(
            model_name="marketingsuppression",
            name="last_refused_at",
            field=models.DateTimeField(
                db_index=True, default=django.utils.timezone.now, verbose_name="last withdrawal or refusal"
            ),
        ),
        migrations.RunPython(from_created_at, migrations.RunPython.noop),
    ]
