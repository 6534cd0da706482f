from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create the first staff account (a superuser named 'officer' by default) when no staff "
        "account exists yet, and print its random password once. Does nothing otherwise."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="officer")
        parser.add_argument("--email", default="")

    def handle(self, *args, username: str, email: str, **options):
        User = get_user_model()
        if User.objects.filter(is_staff=True).exists():
            self.stdout.write("A staff account already exists; no account created.")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email=email, password=password)
        self.stdout.write(self.style.SUCCESS("Created the first staff account (shown once, note it now):"))
        self.stdout.write(f"  username: {username}\n  password: {password}")
