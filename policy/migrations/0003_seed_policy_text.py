"""Version 2025-01-02 is the text the company published, not a rendering of today's records.

The text is `policy/seed/privacy-policy-2025-01-02.txt`, a byte-for-byte copy of the published
page (shared/seed/privacy-policy.txt); the product never reads shared/ at run time. The page
chrome before the first sentence of the policy ("How We Craft ... legal.privacy") is the
website's header and is left out of the HTML; every line from "Palette Inc." to "Effective
Date" is kept verbatim, one paragraph a line.

The policy was published in English only. Its Korean page states that in Korean and shows the
English original (a translation would be a text the company never announced).

Existing installs served a text generated at deployment under this label. That text was never
announced, so it is replaced here, not archived; the same rendering is today's draft (the admin
shows it beside this version), and announcing it is a significant change (30 days' notice).
`facts` is emptied: the seed text was not rendered from records, so nothing can be compared
with it and the desk says the rules that run differ until a generated version is in force.
"""

import hashlib
from pathlib import Path

from django.db import migrations
from django.utils.html import escape

SEED_FILE = Path(__file__).resolve().parent.parent / "seed" / "privacy-policy-2025-01-02.txt"
FIRST_LINE = "Palette Inc. ("
KOREAN_NOTE = (
    "이 버전의 개인정보처리방침은 영어로만 게시되었습니다. 아래는 2025년 1월 2일에 게시된 영어 원문 그대로이며, "
    "번역문이 아닙니다. 게시일과 시행일은 모두 2025년 1월 2일입니다."
)


def seed_html(text: str) -> str:
    lines = [line.strip() for line in text.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith(FIRST_LINE))
    body = "\n".join(f"<p>{escape(line)}</p>" for line in lines[start:] if line)
    return f'<div class="policy policy-original" lang="en">\n{body}\n</div>'


def replace_text(apps, schema_editor):
    PolicyVersion = apps.get_model("policy", "PolicyVersion")
    raw = SEED_FILE.read_bytes()
    html_en = seed_html(raw.decode("utf-8"))
    html_ko = f'<p class="notice" lang="ko">{KOREAN_NOTE}</p>\n{html_en}'
    PolicyVersion.objects.filter(label="2025-01-02").update(
        summary_ko="최초 게시 (영어 원문)",
        summary_en="First published version (as published, in English).",
        frozen_html_en=html_en,
        frozen_html_ko=html_ko,
        facts={},
        # The hash of the published file: no set of records hashes to it, so the live rules
        # always differ from this version (policy_is_out_of_date).
        fingerprint=hashlib.sha256(raw).hexdigest(),
    )


class Migration(migrations.Migration):
    dependencies = [("policy", "0002_seed_officer_institutions_version")]

    operations = [migrations.RunPython(replace_text, migrations.RunPython.noop)]
