from __future__ import annotations

import io
import secrets

import qrcode
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.roles import PRIVACY_OFFICER


class Command(BaseCommand):
    help = (
        "Create the first staff account (a superuser named 'officer' by default, in the privacy officer "
        "role) with a TOTP authenticator when no staff account exists yet, and print its random password, "
        "the otpauth:// provisioning URI and its QR code once. Does nothing otherwise."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="officer")
        parser.add_argument("--email", default="")
        parser.add_argument("--no-qr", action="store_true", help="Print the provisioning URI without the QR code.")

    def handle(self, *args, username: str, email: str, no_qr: bool, **options):
        User = get_user_model()
        if User.objects.filter(is_staff=True).exists():
            self.stdout.write("A staff account already exists; no account created.")
            return
        password = secrets.token_urlsafe(12)
        with transaction.atomic():
            user = User.objects.create_superuser(username=username, email=email, password=password)
            group = Group.objects.filter(name=PRIVACY_OFFICER).first()
            if group is not None:
                user.groups.add(group)
            device = TOTPDevice.objects.create(user=user, name="first authenticator", confirmed=True)
        self.stdout.write(self.style.SUCCESS("Created the first staff account (shown once, note it now):"))
        self.stdout.write(f"  username: {username}\n  password: {password}")
        self.stdout.write("  Add this to an authenticator app (Google Authenticator, 1Password, ...) and give")
        self.stdout.write("  its 6-digit code at the admin's sign-in with the password:")
        self.stdout.write(f"  {device.config_url}")
        if not no_qr:
            qr = qrcode.QRCode(border=1)
            qr.add_data(device.config_url)
            qr.make(fit=True)
            out = io.StringIO()
            qr.print_ascii(out=out, invert=True)
            self.stdout.write(out.getvalue())
