"""Visit logs get the sending website's own reference (external_ref), unique when given, so a retried
call (POST /api/visits or /api/visits/batch) returns the visit first recorded. On PostgreSQL the
column is added without rewriting the table (constant default); the partial unique index reads it once."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('subjects', '0002_email_normalised'),
    ]

    operations = [
        migrations.AddField(
            model_name='visitlog',
            name='external_ref',
            field=models.CharField(blank=True, max_length=100, verbose_name='external reference'),
        ),
        migrations.AddConstraint(
            model_name='visitlog',
            constraint=models.UniqueConstraint(condition=models.Q(('external_ref', ''), _negated=True), fields=('external_ref',), name='visitlog_external_ref_unique'),
        ),
    ]
