"""What text a request may carry: characters no text may hold, and the rules of a single line.

Two rules, checked where requests are validated (``shared.schemas.InputModel`` walks every
string of a body, also inside maps and lists such as language maps or a breakdown):

- **No text** holds NUL (PostgreSQL cannot store it), a lone surrogate (``"\\ud800"`` in JSON:
  not a Unicode character, UTF-8 and so PostgreSQL, JSON columns and every file format
  refuse it) or a C0 control character other than tab, line feed and carriage return (XML,
  the platform's reports and most file formats cannot carry them).
- **A single line** (names, titles, organisations, rooms, venues, labels: whatever becomes a
  mail header, a file name, a cell or a heading) also holds no line break of any kind, no tab,
  no DEL and no C1 control: ``SingleLine``, and ``shared.i18n.TitleMap`` for language maps.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

NUL = "\x00"
#: Characters no text may hold.
_NEVER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
#: Characters a single line may not hold: every control character, line and paragraph
#: separators, and lone surrogates.
_NOT_IN_A_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
#: The two rules as JSON Schema patterns (ECMA-262), for the OpenAPI documents
#: (``shared.openapi`` puts ``TEXT_PATTERN`` on every free text of a request body). Lone
#: surrogates cannot appear in a valid JSON Schema string: they are left out.
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
#: ``TEXT_PATTERN`` for a text that is not blank (the values of language maps).
TEXT_NOT_BLANK_PATTERN = (
    r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*[^\s\x00-\x08\x0b\x0c\x0e-\x1f]"
    r"[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
)
SINGLE_LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
#: A single line that is not blank, for the values of language maps of titles.
SINGLE_LINE_NOT_BLANK_PATTERN = (
    r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*[^\s\x00-\x1f\x7f-\x9f\u2028\u2029]"
    r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
)

_NAMES = {
    "\x00": "the NUL character",
    "\t": "a tab",
    "\n": "a line feed",
    "\r": "a carriage return",
    "\u2028": "a line separator",
    "\u2029": "a paragraph separator",
}


def _character(char: str) -> str:
    """How a refused character is named in a problem: readable and unambiguous."""
    if char in _NAMES:
        return _NAMES[char]
    if "\ud800" <= char <= "\udfff":
        return f"a lone surrogate (U+{ord(char):04X}), which is not a character"
    name = unicodedata.name(char, "")
    return f"the control character U+{ord(char):04X}" + (f" ({name})" if name else "")


def text_problem(text: str) -> str | None:
    """What is wrong with ``text`` as any text, or ``None``."""
    found = _NEVER.search(text)
    return f"must not contain {_character(found.group())}" if found else None


def line_problem(text: str) -> str | None:
    """What is wrong with ``text`` as a single line, or ``None``."""
    found = _NOT_IN_A_LINE.search(text)
    if found is None:
        return None
    return f"must be a single line: it contains {_character(found.group())}"


def find_text_problem(value: Any) -> str | None:
    """The first ``text_problem`` of any string in ``value``, keys of maps included."""
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, dict):
        for key, item in value.items():
            problem = find_text_problem(key) or find_text_problem(item)
            if problem:
                return problem
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            problem = find_text_problem(item)
            if problem:
                return problem
    return None


class _SingleLineRule:
    """Pydantic metadata: the value, if a string, must be one line; the JSON schema says so.

    Put it after the string's own constraints (``Annotated[str, Field(max_length=200),
    SINGLE_LINE]``): they keep their own messages. The line is checked as sent, before any
    trimming, as the JSON schema's pattern says: a trailing line break is refused too."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(_single_line, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault("pattern", SINGLE_LINE_PATTERN)
        return json_schema


def _single_line(value: Any) -> Any:
    problem = line_problem(value) if isinstance(value, str) else None
    if problem:
        raise ValueError(problem)
    return value


SINGLE_LINE = _SingleLineRule()
#: One line of text, without other constraints.
SingleLine = Annotated[str, SINGLE_LINE]
