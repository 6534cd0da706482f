from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import translation

from subjects.models import InquiryKind

ROOT = Path(__file__).resolve().parents[2]


def test_every_translatable_string_has_a_korean_translation():
    result = subprocess.run(
        [sys.executable, "scripts/extract_messages.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_korean_is_the_default_and_english_the_second_language():
    with translation.override("ko"):
        assert str(InquiryKind.COMPLAINT.label) == "소비자 불만"
    with translation.override("en"):
        assert str(InquiryKind.COMPLAINT.label) == "Consumer complaint"


@pytest.mark.django_db
def test_the_browser_language_chooses_between_korean_and_english(client):
    assert "로그인" in client.get("/admin/login/").content.decode()
    english = client.get("/admin/login/", headers={"accept-language": "en"}).content.decode()
    assert "Log in" in english
