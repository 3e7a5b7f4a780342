"""OpenAI file and batch ids <-> Gemini resource names, and the display name that carries a
Gemini-held file's owner and OpenAI metadata. Stateless: the id says where the thing lives.

- A Gemini-held file `files/<id>` is `file-<id>`; Gemini's ids are `[a-z0-9-]`, never `_`.
  A batch's results file, `files/batch-<batch id>`, is `file-batch-<batch id>`.
- A kept file (content in the adapter's store) is `file-kept_<32 hex>`.
- A batch `batches/<id>` is `batch_<id>`.
"""

from __future__ import annotations

import re
import uuid

FILE_PREFIX = "file-"
KEPT_PREFIX = "file-kept_"
BATCH_PREFIX = "batch_"
RESULTS_PREFIX = "batch-"  # Gemini's name for a batch's results file: files/batch-<batch id>
DISPLAY_PREFIX = "oa1"
MAX_DISPLAY_NAME = 512  # characters of a Gemini displayName

_FILE_ID = re.compile(r"[a-z0-9-]{1,40}")
_BATCH_ID = re.compile(r"[a-z0-9-]{1,64}")
_KEPT_ID = re.compile(r"[0-9a-f]{32}")
_OWNER = re.compile(r"[0-9a-f]{32}")


def file_id(gemini_name: str) -> str:
    """`files/abc` -> `file-abc`."""
    return FILE_PREFIX + gemini_name.removeprefix("files/")


def gemini_file_name(file_id: str) -> str | None:
    """`file-abc` -> `files/abc`; None for an id that names no Gemini file (a kept file's, or
    one that is malformed)."""
    if not file_id.startswith(FILE_PREFIX):
        return None
    name = file_id[len(FILE_PREFIX):]
    if _FILE_ID.fullmatch(name) or (name.startswith(RESULTS_PREFIX)
                                     and _BATCH_ID.fullmatch(name[len(RESULTS_PREFIX):])):
        return f"files/{name}"
    return None


def results_file_id(batch_id: str) -> str:
    """The OpenAI id of a batch's results file: `batch_x` -> `file-batch-x`."""
    return FILE_PREFIX + RESULTS_PREFIX + batch_id.removeprefix(BATCH_PREFIX)


def results_batch_id(file_id: str) -> str | None:
    """The batch whose results file `file_id` is (`file-batch-x` -> `batch_x`), else None. The
    file is the batch owner's: check ownership through the batch record."""
    rest = file_id.removeprefix(FILE_PREFIX + RESULTS_PREFIX)
    if rest == file_id or not _BATCH_ID.fullmatch(rest):
        return None
    return BATCH_PREFIX + rest


def kept_file_id() -> str:
    """A new kept file's id."""
    return KEPT_PREFIX + uuid.uuid4().hex


def is_kept(file_id: str) -> bool:
    """Whether `file_id` is a well-formed kept file id."""
    return file_id.startswith(KEPT_PREFIX) and bool(
        _KEPT_ID.fullmatch(file_id[len(KEPT_PREFIX):]))


def batch_id(gemini_name: str) -> str:
    """`batches/abc` -> `batch_abc`."""
    return BATCH_PREFIX + gemini_name.removeprefix("batches/")


def gemini_batch_name(batch_id: str) -> str | None:
    """`batch_abc` -> `batches/abc`; None for a malformed id."""
    if not batch_id.startswith(BATCH_PREFIX):
        return None
    name = batch_id[len(BATCH_PREFIX):]
    return f"batches/{name}" if _BATCH_ID.fullmatch(name) else None


def display_name(owner: str, purpose: str, filename: str) -> str:
    """`oa1.<owner[:32]>.<purpose>.<filename>`, the filename cut so the whole fits Gemini's
    512 characters."""
    head = f"{DISPLAY_PREFIX}.{owner[:32]}.{purpose}."
    return head + filename[:MAX_DISPLAY_NAME - len(head)]


def parse_display_name(text: str) -> tuple[str, str, str] | None:
    """(owner32, purpose, filename) of a display name `display_name` made, else None."""
    pieces = text.split(".", 3)
    if len(pieces) != 4 or pieces[0] != DISPLAY_PREFIX or not _OWNER.fullmatch(pieces[1]) \
            or not pieces[2]:
        return None
    return pieces[1], pieces[2], pieces[3]


def owned(text: str | None, owner: str) -> tuple[str, str] | None:
    """(purpose, filename) when display name `text` is `owner`'s, else None."""
    parsed = parse_display_name(text) if text else None
    if parsed is None or parsed[0] != owner[:32]:
        return None
    return parsed[1], parsed[2]
