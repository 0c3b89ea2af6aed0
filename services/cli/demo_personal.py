"""`juke demo`'s last step: one listener on the licensed corpus, and what apps get for them.

The listener completes tracks of the two largest corpus sources (two games' soundtracks), so
their history has two sides; the events carry fixed idempotency keys, so running the demo
again stores nothing twice. Everything is shown as the ranker answers it over gRPC, each
with the REST call an app would make.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TextIO

from google.protobuf.timestamp_pb2 import Timestamp

from juke.common.v1 import common_pb2
from juke.governance.v1 import governance_pb2 as gpb
from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.cli.corpus.commands import governance_stub
from services.cli.keys import curl_auth
from services.cli.ranking import ranker_stub
from services.common.config import Settings

DEMO_USER = "demo-listener"
PLAYS_PER_SIDE = (8, 6)


def listener_plays(by_source: Mapping[str, Sequence[str]]) -> list[str]:
    """Track ids the demo listener completes: the first tracks of the two largest sources
    (ties: source name), most recent first. Empty when the corpus has fewer than two."""
    sides = sorted(by_source, key=lambda s: (-len(by_source[s]), s))[:2]
    if len(sides) < 2:
        return []
    return [t for side, n in zip(sides, PLAYS_PER_SIDE, strict=True)
            for t in sorted(by_source[side])[:n]]


def completion_events(track_ids: Sequence[str], now: datetime) -> list[rpb.ListeningEvent]:
    events = []
    for minutes, track in enumerate(track_ids):
        when = Timestamp()
        when.FromDatetime(now - timedelta(minutes=4 * minutes))
        events.append(rpb.ListeningEvent(
            user_id=DEMO_USER, item=track, type=rpb.EVENT_TYPE_COMPLETE, occurred_at=when,
            idempotency_key=f"{DEMO_USER}:{track}"))
    return events


def _production_tracks(settings: Settings) -> dict[str, list[str]]:
    """Production-eligible corpus tracks by source."""
    by_source: dict[str, list[str]] = {}
    channel, stub = governance_stub(settings)
    with channel:
        token = ""
        while True:
            reply = stub.ListEligibleEntries(gpb.ListEligibleEntriesRequest(
                environment=common_pb2.ENVIRONMENT_PRODUCTION, with_track_only=True,
                page=common_pb2.PageRequest(page_size=200, page_token=token)))
            for entry in reply.entries:
                by_source.setdefault(entry.source, []).append(entry.track_juke_id)
            token = reply.page.next_page_token
            if not token:
                return by_source


def _names(items: Sequence[rpb.RecommendedItem]) -> str:
    return ", ".join(repr(i.resource.name) for i in items)


def _show(ranker: RankerServiceStub, plays: list[str], out: TextIO) -> list[str]:
    """Print what the ranker answers for the listener; returns the REST paths shown."""
    user = ranker.RecommendForUser(rpb.RecommendForUserRequest(user_id=DEMO_USER, limit=5))
    print(f"  for you (path {user.path}, {user.qualifying_interactions} qualifying plays): "
          f"{_names(user.result.items)}", file=out)
    taste = ranker.GetTaste(rpb.GetTasteRequest(user_id=DEMO_USER, limit=3))
    print(f"  taste: tags {', '.join(f'{t.tag} {t.weight:.2f}' for t in taste.top_tags)}; "
          f"artists {', '.join(a.resource.name for a in taste.top_artists)}; diversity "
          f"{taste.diversity:.2f} ({taste.diversity_basis})", file=out)
    mixes = ranker.GetDailyMixes(rpb.GetDailyMixesRequest(user_id=DEMO_USER, max_mixes=3,
                                                          mix_size=4))
    for mix in mixes.mixes:
        print(f"  daily mix {mix.title!r}: {_names(mix.items)}", file=out)
    radio = ranker.StartRadio(rpb.StartRadioRequest(seed_item_ids=plays[:1], user_id=DEMO_USER))
    page = ranker.NextRadio(rpb.NextRadioRequest(session_id=radio.session.id, n=5))
    print(f"  radio from {radio.session.seeds[0].name!r}: {_names(page.items)}", file=out)
    return [f"/api/v1/users/{DEMO_USER}/recommendations?limit=5",
            f"/api/v1/users/{DEMO_USER}/taste?limit=3",
            f"/api/v1/users/{DEMO_USER}/daily-mixes?max_mixes=3&mix_size=4",
            f"/api/v1/radio/{radio.session.id}/next?n=5"]


def show_personal(settings: Settings, out: TextIO) -> None:
    plays = listener_plays(_production_tracks(settings))
    if not plays:
        print("\n  no two corpus sources to build a listener from", file=out)
        return
    channel, ranker = ranker_stub(settings)
    with channel:
        stored = ranker.RecordEvents(rpb.RecordEventsRequest(
            events=completion_events(plays, datetime.now(UTC))))
        print(f"\nA listener ({DEMO_USER!r}) completed {len(plays)} corpus tracks "
              f"({stored.accepted} events stored, {stored.duplicates} already there):", file=out)
        paths = _show(ranker, plays, out)
    base = f"http://{settings.host}:{settings.gateway_port}"
    for path in paths:
        print(f"  curl -s {curl_auth(settings)} '{base}{path}'", file=out)
