"""The one way secrets are masked in anything that leaves the process: error messages and codes
sent to clients, stream error events, log lines and recordings.

A secret is masked wherever it appears, and so is anything shaped like a Google API key
(`AIza` and 35 more characters), so a key the adapter was never told about (a client's own key
in pass-through mode, echoed back by a proxy) does not leak either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
_GOOGLE_KEY = re.compile(r"AIza[0-9A-Za-z_\-]{35}")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every non-empty secret and every Google-API-key-shaped token masked."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, MASK)
    if "AIza" in text:
        text = _GOOGLE_KEY.sub(MASK, text)
    return text
