"""Seed the processors named in policy 3.1: Google Analytics, Meta, Stibee."""

from django.db import migrations

RETENTION = "Until end of service agreement"

PROCESSORS = [
    {
        "name": "Google Analytics",
        "entrusted_task": "User data analysis",
        "data_categories": ["device_usage"],
        "share_purpose": "service_improvement",
        "restricted_use": "",
        "country": "USA",
        "transfers_overseas": True,
        "overseas_transfer_details": (
            "Google LLC (USA): cookie identifiers, device and usage data, sent over the network "
            "as the website is used; kept until the end of the service agreement."
        ),
        "erasure_channel": "api",
        "connector": "google_analytics",
    },
    {
        "name": "Meta",
        "entrusted_task": "Targeted advertising services",
        "data_categories": ["identity_contact", "device_usage", "ad_performance"],
        "share_purpose": "marketing",
        "restricted_use": "targeted_advertising",
        "country": "USA",
        "transfers_overseas": True,
        "overseas_transfer_details": (
            "Meta Platforms, Inc. (USA): hashed email and phone for custom audiences, pixel events, "
            "sent over the network when an audience is synced; kept until the end of the service agreement."
        ),
        "erasure_channel": "api",
        "connector": "meta",
    },
    {
        "name": "Stibee",
        "entrusted_task": "Email sending",
        "data_categories": ["identity_contact"],
        "share_purpose": "marketing",
        "restricted_use": "",
        "country": "Korea",
        "transfers_overseas": False,
        "overseas_transfer_details": "",
        "erasure_channel": "api",
        "connector": "stibee",
    },
]


def seed(apps, schema_editor):
    Processor = apps.get_model("thirdparty", "Processor")
    for data in PROCESSORS:
        Processor.objects.get_or_create(
            name=data["name"], defaults={**data, "kind": "entrustment", "retention_text": RETENTION, "active": True}
        )


def unseed(apps, schema_editor):
    Processor = apps.get_model("thirdparty", "Processor")
    Processor.objects.filter(name__in=[p["name"] for p in PROCESSORS], vendorerasurejob__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("thirdparty", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
