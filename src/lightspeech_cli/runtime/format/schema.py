"""A small schema for the config files of voice and vocoder folders (and the voice
manifest): each field is a check that returns the clean value or raises SchemaError, and
`read_section` turns a section into clean values or one VoiceError naming the field."""

from __future__ import annotations

import math
import re
from typing import Any, Callable

from ...errors import VoiceError
from ...paths import checked_name, shown


class SchemaError(ValueError):
    pass


Check = Callable[[Any], Any]


def whole_number(low: int, high: int) -> Check:
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SchemaError(f"must be a whole number, not {shown(value)}")
        if not low <= value <= high:
            raise SchemaError(f"must be from {low} to {high}, not {value}")
        return value

    return check


def real_number(low: float, high: float, low_open: bool = False) -> Check:
    def check(value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SchemaError(f"must be a number, not {shown(value)}")
        value = float(value)
        if not math.isfinite(value) or value > high or value < low or (low_open and value == low):
            bound = f"above {low}" if low_open else f"from {low}"
            raise SchemaError(f"must be {bound} to {high}, not {value}")
        return value

    return check


def printable_text(limit: int, pattern: str | None = None) -> Check:
    def check(value):
        if not isinstance(value, str):
            raise SchemaError(f"must be text, not {shown(value)}")
        if len(value) > limit or not value.isprintable():
            raise SchemaError(f"must be printable text of at most {limit} characters, not {shown(value)}")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise SchemaError(f"is not valid: {shown(value)}")
        return value

    return check


def odd_number(low: int, high: int) -> Check:
    def check(value):
        whole_number(low, high)(value)
        if value % 2 == 0:
            raise SchemaError(f"must be odd, not {value}")
        return value

    return check


def one_of(values) -> Check:
    def check(value):
        if not isinstance(value, str) or value not in values:
            raise SchemaError(f"must be one of {', '.join(values)}, not {shown(value)}")
        return value

    return check


def name_field(value):
    return checked_name(value, "name", error=SchemaError)


def architecture_field(value):
    from .arch import Architecture

    printable_text(400)(value)
    try:
        Architecture.parse(value)
    except ValueError as e:
        raise SchemaError(str(e)) from None
    return value


REQUIRED = object()


def read_section(data: object, schema: dict[str, tuple[Check, Any]], where: str) -> dict:
    """`data` checked against `schema` (field -> (check, default or REQUIRED)); unknown
    fields are refused, so a typo never silently falls back to a default."""
    if not isinstance(data, dict):
        raise VoiceError(f"{where}: expected a JSON object, not {shown(data)}")
    unknown = sorted(set(data) - set(schema))
    if unknown:
        raise VoiceError(f"{where}: unknown setting {shown(unknown[0])}")
    clean = {}
    for key, (check, default) in schema.items():
        if key not in data:
            if default is REQUIRED:
                raise VoiceError(f"{where}: missing {key!r}")
            clean[key] = default
            continue
        try:
            clean[key] = check(data[key])
        except SchemaError as e:
            raise VoiceError(f"{where}: {key!r} {e}") from None
    return clean
