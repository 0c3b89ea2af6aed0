"""The one check of an app's user id, for every RPC that takes one besides RecordEvents
(which checks it per row, naming the row)."""

from __future__ import annotations

from services.common.errors import InvalidArgument
from services.ranker.personal.events import MAX_ID_LENGTH


def check_user_id(user_id: str) -> str:
    """The user id stripped; empty or over-long ids (events refuse those too) are
    InvalidArgument. NUL text is refused for every RPC by the shared ErrorInterceptor."""
    cleaned = user_id.strip()
    if not cleaned:
        raise InvalidArgument("user_id is empty")
    if len(cleaned) > MAX_ID_LENGTH:
        raise InvalidArgument(f"user_id {cleaned[:40]!r}... is longer than {MAX_ID_LENGTH} "
                              "characters")
    return cleaned
