"""Collect translatable strings into each app's Korean catalogue, without GNU gettext.

Finds _()/gettext()/gettext_lazy()/ngettext() calls with literal strings in Python files and
{% translate "..." %} / {% trans "..." %} / {% blocktranslate %}...{% endblocktranslate %} in
templates, then adds any new msgid to <app>/locale/ko/LC_MESSAGES/django.po (existing
translations are kept; entries no longer used are marked obsolete).

    python scripts/extract_messages.py            # update every catalogue
    python scripts/extract_messages.py subjects   # only that app
    python scripts/extract_messages.py --check    # exit 1 listing strings with no Korean translation
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = [
    "privacyops",
    "subjects",
    "consent",
    "thirdparty",
    "retention",
    "audit",
    "policy",
    "dsar",
    "incidents",
    "datastores",
]
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "pgettext", "pgettext_lazy", "ngettext", "ngettext_lazy"}
TEMPLATE_TAG = re.compile(r"""{%\s*trans(?:late)?\s+(["'])(.+?)\1.*?%}""")
TEMPLATE_BLOCK = re.compile(
    r"{%\s*blocktrans(?:late)?(?:\s+trimmed)?[^%]*%}(.*?){%\s*endblocktrans(?:late)?\s*%}", re.S
)
BLOCK_VARIABLE = re.compile(r"{{\s*(\w+)\s*}}")


def python_strings(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name in GETTEXT_NAMES:
            index = 1 if name.startswith("pgettext") else 0
            if len(node.args) > index and isinstance(node.args[index], ast.Constant):
                if isinstance(node.args[index].value, str):
                    found.append(node.args[index].value)
    return found


def template_strings(path: Path) -> list[str]:
    text = path.read_text()
    found = [match.group(2) for match in TEMPLATE_TAG.finditer(text)]
    for match in TEMPLATE_BLOCK.finditer(text):
        body = " ".join(match.group(1).split()) if "trimmed" in match.group(0) else match.group(1)
        # As Django does: a literal % is doubled, {{ var }} becomes %(var)s.
        found.append(BLOCK_VARIABLE.sub(r"%(\1)s", body.replace("%", "%%")))
    return found


def catalogue_strings(package: str) -> list[str]:
    strings: list[str] = []
    # Project-wide templates (templates/ at the root) belong to the project's own catalogue.
    folders = [ROOT / package, ROOT / "templates"] if package == "privacyops" else [ROOT / package]
    for path in sorted(p for folder in folders for p in folder.rglob("*")):
        if "migrations" in path.parts or "locale" in path.parts:
            continue
        if path.suffix == ".py":
            strings += python_strings(path)
        elif path.suffix in {".html", ".txt", ".js"} and "templates" in path.relative_to(ROOT).parts:
            strings += template_strings(path)
    return list(dict.fromkeys(s for s in strings if s.strip()))


def catalogue_path(package: str) -> Path:
    base = ROOT / "locale" if package == "privacyops" else ROOT / package / "locale"
    return base / "ko" / "LC_MESSAGES" / "django.po"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true", help="only report strings without a Korean translation")
    parser.add_argument("packages", nargs="*", default=PACKAGES, help="apps to process (default: all)")
    args = parser.parse_args()
    missing: list[str] = []
    for package in args.packages:
        if not (ROOT / package).is_dir():
            continue
        strings = catalogue_strings(package)
        path = catalogue_path(package)
        po = polib.pofile(str(path)) if path.exists() else polib.POFile()
        po.metadata.setdefault("Content-Type", "text/plain; charset=UTF-8")
        po.metadata.setdefault("Language", "ko")
        known = {entry.msgid: entry for entry in po}
        for msgid in strings:
            entry = known.get(msgid)
            if entry is None:
                entry = polib.POEntry(msgid=msgid, msgstr="")
                po.append(entry)
            if not (entry.msgstr or any((entry.msgstr_plural or {}).values())):
                missing.append(f"{package}: {msgid!r}")
        if not args.check:
            for entry in po:
                entry.obsolete = entry.msgid not in strings
            if strings:
                path.parent.mkdir(parents=True, exist_ok=True)
                po.save(str(path))
    if missing:
        print(f"{len(missing)} string(s) without a Korean translation:")
        print("\n".join(f"  {line}" for line in missing))
    return 1 if args.check and missing else 0


if __name__ == "__main__":
    sys.exit(main())
