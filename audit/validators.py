"""Password rules of SA-03 (PIPC guidance): at least 8 characters of 2 or more kinds, or at
least 10 characters of 1 kind; no easily guessed strings. Django's own validators add the
common-password list and similarity to the account's name and email."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_KINDS = (
    re.compile(r"[a-z]"),
    re.compile(r"[A-Z]"),
    re.compile(r"[0-9]"),
    re.compile(r"[^a-zA-Z0-9]"),
)

# Rows of a keyboard and runs of letters and digits: "qwer", "asdf", "1234", "abcd", "4321".
_SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "0123456789", "qwertyuiop", "asdfghjkl", "zxcvbnm", "1qaz2wsx")
# Guessable in this company: its names and the system's.
_WORDS = ("palette", "pltt", "privacyops", "password", "admin", "welcome")


def character_kinds(password: str) -> int:
    return sum(1 for kind in _KINDS if kind.search(password))


class CompositionValidator:
    def validate(self, password: str, user=None) -> None:
        kinds = character_kinds(password)
        if len(password) >= 10 or (len(password) >= 8 and kinds >= 2):
            return
        raise ValidationError(
            _(
                "The password must have at least 8 characters of two kinds (letters, digits, "
                "symbols; upper and lower case count as two), or at least 10 characters."
            ),
            code="password_composition",
        )

    def get_help_text(self) -> str:
        return _("At least 8 characters of two kinds (letters, digits, symbols), or at least 10 characters.")


class GuessableValidator:
    """Refuses runs of 4 or more keyboard or alphabet neighbours, 4 repeats of one character,
    and the company's and the system's names."""

    run_length = 4

    def validate(self, password: str, user=None) -> None:
        lowered = password.lower()
        if re.search(rf"(.)\1{{{self.run_length - 1},}}", lowered):
            raise ValidationError(_("The password repeats one character too often."), code="password_repeats")
        for sequence in _SEQUENCES:
            for line in (sequence, sequence[::-1]):
                for start in range(len(line) - self.run_length + 1):
                    if line[start : start + self.run_length] in lowered:
                        raise ValidationError(
                            _('The password contains an easily guessed sequence such as "1234" or "qwer".'),
                            code="password_sequence",
                        )
        for word in _WORDS:
            if word in lowered:
                raise ValidationError(
                    _("The password contains a guessable word (the company's or the system's name)."),
                    code="password_word",
                )

    def get_help_text(self) -> str:
        return _("No runs such as 1234 or qwer, no character four times in a row, no company or system names.")
