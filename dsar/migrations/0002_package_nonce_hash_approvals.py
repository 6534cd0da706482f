import hashlib

from django.db import migrations, models


def hash_stored_nonces(apps, schema_editor):
    """Released packages keep working: each plain nonce is replaced by its SHA-256, which is what
    the download view now compares against (dsar.tokens.nonce_matches)."""
    Request = apps.get_model("dsar", "DataSubjectRequest")
    for pk, nonce in Request.objects.exclude(package_nonce_hash="").values_list("pk", "package_nonce_hash"):
        Request.objects.filter(pk=pk).update(package_nonce_hash=hashlib.sha256(nonce.encode()).hexdigest())


class Migration(migrations.Migration):
    dependencies = [
        ("dsar", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(
            model_name="datasubjectrequest",
            old_name="package_nonce",
            new_name="package_nonce_hash",
        ),
        migrations.AlterField(
            model_name="datasubjectrequest",
            name="package_nonce_hash",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.RunPython(hash_stored_nonces, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="requestevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("received", "Received"),
                    ("email_confirmed", "Email address confirmed"),
                    ("verified", "Identity verified"),
                    ("assigned", "Assigned"),
                    ("status_changed", "Status changed"),
                    ("extended", "Deadline extended"),
                    ("postponed", "Access postponed"),
                    ("package_built", "Access package built"),
                    ("package_released", "Access package released"),
                    ("package_downloaded", "Access package downloaded"),
                    ("package_reviewed", "Access package opened by staff"),
                    ("erased", "Data erased"),
                    ("consents_withdrawn", "Consents withdrawn"),
                    ("vendor_jobs_created", "Processor jobs created"),
                    ("restricted", "Processing suspended"),
                    ("corrected", "Correction recorded"),
                    ("notice_sent", "Notice sent to the requester"),
                    ("reminder_sent", "Reminder sent to staff"),
                    ("note", "Note"),
                    ("approval_requested", "Waiting for a second person's approval"),
                    ("approved", "Approved by a second person"),
                    ("approval_refused", "Refused by a second person"),
                    ("closed", "Closed"),
                ],
                max_length=24,
                verbose_name="kind",
            ),
        ),
    ]
