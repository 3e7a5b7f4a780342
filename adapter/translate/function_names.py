"""Function names both ways: the client's own name <-> a name Gemini takes.

OpenAI accepts `^[a-zA-Z0-9_-]{1,64}$`; Gemini wants a name that starts with a letter or an
underscore, made of letters, digits, underscores, dots, colons and dashes, at most 64 characters
(its 400 says so: "Invalid function name. Must start with a letter or an underscore ...").
So an OpenAI tool named `3d-render` cannot go to Gemini as it is.

A name Gemini takes goes unchanged. Any other name goes as `_.` + the name: `3d-render` is
`_.3d-render`. No OpenAI name has a dot, so the prefix cannot meet a name the client declared;
a client name that itself starts with `_.` (Gemini-valid, never OpenAI-valid) is prefixed too,
so that every name Gemini gives back that starts with `_.` is ours to strip. The mapping needs no
table: any replica maps a call back from the name alone. A name that is 63 or 64 characters
long and needs the prefix no longer fits; `tools.py` refuses it with a 400.
"""

from __future__ import annotations

import re

PREFIX = "_."
MAX_LENGTH = 64  # Gemini's limit, and OpenAI's
_GEMINI_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:\-]{0,63}")


def valid_for_gemini(name: str) -> bool:
    """Whether Gemini takes `name` as a function name."""
    return _GEMINI_NAME.fullmatch(name) is not None


def to_gemini(name: str) -> str:
    """The name Gemini sees for the client's function `name` (valid for Gemini whenever the
    name is made of the characters Gemini allows and is short enough to map)."""
    if not name or (valid_for_gemini(name) and not name.startswith(PREFIX)):
        return name  # an empty name stays empty: there is nothing to map
    return PREFIX + name


def from_gemini(name: str) -> str:
    """The client's own name for a function Gemini calls."""
    return name.removeprefix(PREFIX)
