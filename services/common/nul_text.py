"""Find text a request carries that PostgreSQL cannot hold: a NUL (U+0000) character.

PostgreSQL `text` refuses NUL outright, so a request carrying one fails wherever its value
reaches the database. `ErrorInterceptor` asks this only once a call has failed unexpectedly
(valid requests pay nothing) and then answers INVALID_ARGUMENT naming the field and value.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

NUL = "\x00"


def find_nul_text(request: object) -> tuple[str, str] | None:
    """(field path, value) of the first string in a request message holding NUL, or None
    (also for a request that is not a protobuf message). Paths read like
    `events[3].context['k']`."""
    return _in_message(request, "") if isinstance(request, Message) else None


def _in_message(message: Message, prefix: str) -> tuple[str, str] | None:
    for field, value in message.ListFields():
        name = f"{prefix}{field.name}"
        if _is_map(field):
            found = _in_items(name, value.items())
        elif field.is_repeated:
            found = _in_items(name, enumerate(value))
        else:
            found = _in_value(name, value)
        if found is not None:
            return found
    return None


def _is_map(field: FieldDescriptor) -> bool:
    entry = field.message_type if field.type == FieldDescriptor.TYPE_MESSAGE else None
    return entry is not None and entry.GetOptions().map_entry


def _in_items(name: str, items: Any) -> tuple[str, str] | None:
    for key, value in items:
        if isinstance(key, str) and NUL in key:
            return f"{name} key", key
        found = _in_value(f"{name}[{key!r}]", value)
        if found is not None:
            return found
    return None


def _in_value(name: str, value: object) -> tuple[str, str] | None:
    if isinstance(value, str):
        return (name, value) if NUL in value else None
    if isinstance(value, Message):
        return _in_message(value, f"{name}.")
    return None
