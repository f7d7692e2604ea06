"""What a user name and a password must be (no Flask: the `flask users` commands call it).

Names: 1-64 characters from a safe alphabet (letters, digits, `.`, `_`, `-`, `@`; first a letter
or digit), so a name can always log in with Basic (no `:`), never forges a line in `users list`
(no control characters) and has no invisible leading spaces. Unique regardless of case (the
database's `lower(name)` index, migration 0006, enforces it too).

Passwords, after NIST SP 800-63B 5.1.1.2 and OWASP's Authentication Cheat Sheet (length over
composition rules, a list of known passwords, no context words): at least `MIN_LENGTH[role]`
characters (admins more), at most 1024 (the longest the login accepts), not in the bundled list
of common passwords (compared lower-cased, surrounding spaces ignored), not containing the user
name (of 3 or more characters), and not a run of a few repeated characters (`"        "`, `aaaaaaaaaaaa`).
"""

from __future__ import annotations

import functools
import gzip
import re
from pathlib import Path

# Django 5.2's list of 20,000 common passwords (Royce Williams' list, lower-cased); docs/security.md.
COMMON_PASSWORDS = Path(__file__).resolve().parents[2] / "data" / "common-passwords.txt.gz"
MIN_LENGTH = {"reader": 12, "writer": 12, "admin": 16}
MAX_LENGTH = 1024  # api.access.auth.verify_password refuses longer ones
MIN_DISTINCT = 5
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


class PolicyError(ValueError):
    """A name or password the policy refuses; the message says which rule."""


@functools.cache
def common_passwords() -> frozenset[str]:
    """The bundled list, read once per process (about 20,000 entries, 1 MB in memory)."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def check_name(name: str) -> None:
    """PolicyError unless `name` is 1-64 characters of the safe alphabet."""
    if not NAME.fullmatch(name):
        raise PolicyError(
            "NAME must be 1-64 characters: letters, digits, '.', '_', '-' or '@', starting with a letter or digit"
        )


def check_password(password: str, name: str, role: str) -> None:
    """PolicyError naming the first rule `password` breaks for user `name` with `role`."""
    least = MIN_LENGTH[role]
    if len(password) < least:
        raise PolicyError(f"the password must have at least {least} characters for the {role} role")
    if len(password) > MAX_LENGTH:
        raise PolicyError(f"the password must have at most {MAX_LENGTH} characters")
    if len(set(password)) < MIN_DISTINCT:
        raise PolicyError(f"the password must use at least {MIN_DISTINCT} different characters")
    folded = password.strip().lower()
    if folded in common_passwords():
        raise PolicyError("the password is in a list of common passwords; choose another")
    # A name of one or two characters is in many good passwords: then only equality is refused.
    if folded == name.lower() or (len(name) >= 3 and name.lower() in password.lower()):
        raise PolicyError("the password must not contain the user name")
