"""What a model can do, decided from its id in one place.

Every translator that depends on the model asks `capabilities(model)` with the model id the
request resolved: the alias of ADAPTER_MODEL_MAP replaced by its model and the `models/` prefix
removed (`request.model_id`). The rules, by family and generation (`gemini-<major>[.<minor>]-...`):

- Gemini 3, and any later generation (a generation this adapter has not seen is taken to behave
  like the newest it knows): thinking is set by level (`thinkingLevel`) and cannot be switched
  off; function calls must carry their thought signature (text models: the image models do not
  check); Gemini's own tools (Google Search, URL context, code execution) work beside function
  declarations, and so does a JSON answer (`responseMimeType`, `responseSchema`).
- Gemini 2.x and earlier: thinking is set by a budget of tokens (`thinkingBudget`), which 0
  switches off except on Pro models; no signature is checked; Gemini's own tools cannot be
  combined with function declarations, nor can a JSON answer (400 "Function calling with a
  response mime type: 'application/json' is unsupported").
- Google's moving aliases (`gemini-flash-latest`, `gemini-pro-latest`, ...) may stand for either,
  so they get what both accept: a thinking budget (Gemini 3 still takes one), placeholder
  signatures (earlier models ignore them), and no built-in tool or JSON answer beside functions.
- Image models (`-image` in the id) answer with images as well as text.
- Speaking models (`-tts` in the id) answer with audio alone.
- Any other id (Gemma, a Gemini id without a generation, a name this adapter does not know): the
  rules of Gemini 2.x, which ask the least of a model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .tools import GEMINI_TOOLS

_GENERATION = re.compile(r"gemini-(?:exp-)?(\d{1,2})(?=[.-]|$)")  # not gemini-exp-1206's date
_MOVING_ALIAS = re.compile(r"gemini-[a-z-]+-latest")
_CURRENT = 3  # the newest generation whose rules this module knows


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What one model can do."""

    family: str  # the id's first word: "gemini", "gemma", ...
    generation: int | None  # Gemini's major version (2 for gemini-2.5-flash), if the id has one
    thinking: Literal["level", "budget"]  # thinkingLevel (Gemini 3) or thinkingBudget
    thinking_off: bool  # whether thinking can be switched off (a budget of 0)
    checks_signatures: bool  # function calls without a thought signature are refused
    image_output: bool  # answers with images (responseModalities TEXT and IMAGE by default)
    tools_beside_functions: frozenset[str]  # Gemini's own tools that go beside functions
    schema_beside_functions: bool  # a JSON answer (responseSchema) goes beside functions
    audio_output: bool = False  # answers with audio alone (responseModalities AUDIO by default)


def capabilities(model: str) -> Capabilities:
    """The capabilities of a resolved model id (see the module docstring for the rules)."""
    family = model.partition("-")[0]
    match = _GENERATION.match(model) if family == "gemini" else None
    generation = int(match[1]) if match else None
    current = generation is not None and generation >= _CURRENT
    moving = generation is None and _MOVING_ALIAS.fullmatch(model) is not None
    image = "-image" in model
    return Capabilities(
        family=family,
        generation=generation,
        thinking="level" if current else "budget",
        thinking_off=not current and "pro" not in model.split("-"),
        checks_signatures=(current or moving) and not image,
        image_output=image,
        tools_beside_functions=frozenset(GEMINI_TOOLS) if current else frozenset(),
        schema_beside_functions=current,
        audio_output="-tts" in model,
    )
