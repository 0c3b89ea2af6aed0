"""Ingest throughput: catalog upserts through identity and RecordEvents, set-wise beside the
previous row-at-a-time path, in one run.

    .venv/bin/python -m bench.ingest [--tracks 50000] [--reference-tracks 2000]
        [--events 100000] [--reference-events 20000] [--batch 1000] [--in-flight 2]
        [--json PATH]

Starts a throwaway embedded PostgreSQL (or uses JUKE_DATABASE_URL) and, as their own
processes, the identity service (`python -m services.identity`: set-wise upserts) and a
second identity serving the previous write path, kept below as the reference: every row
looked up, written and flushed on its own, one query per ref. Both are driven the same way,
over gRPC, by one client sending batches of --batch:

- a synthetic catalog as an adapter import sends it: 100 genres first (not timed), then
  artists (MBID, spotify id, a genre by MBID, 1-2 tags), albums (MBID, spotify id, artist
  by spotify id, release date) and tracks (MBID, spotify id and ISRC, 1-2 artists and the
  album by spotify id, duration, number, a work MBID, 1-3 tags), one album per 10 tracks
  and one artist per 10 tracks. The reference gets its own rows (fewer: it is slow);
- the set-wise tracks sent again: an idempotent re-send, nothing new (checked);
- RecordEvents to an events-only ranker process (the ranker's EventService and its gRPC
  method; items resolved through identity's BatchResolve as in the ranker), once with the
  set-wise insert and once with the previous one (one INSERT ... VALUES row list), each
  over its own events: synthetic listeners, all event types, 80% of items by juke_id and
  20% by spotify id, half with a client idempotency key; then a set-wise re-send;
- the set-wise import and events once more, on rows of their own, with --in-flight batches
  sent at a time from the one client (the next batch is sent while one is written), which
  shows what the services absorb when the client does not wait on every batch.

Prints a table (rows/s = rows / wall seconds of all batches; p50/p95 per batch) and the
1-minute load average (client, services and PostgreSQL share the machine); --json writes
the same figures. Prints, never asserts (beyond the re-send storing nothing new).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from bench._mesh import _stop, database, free_port, percentiles, service_process, wait_serving
from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1 import identity_pb2_grpc
from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1 import ranker_pb2_grpc
from services.common.config import Settings
from services.common.db import Database
from services.common.grpc_client import channel
from services.common.ids import uuid7
from services.common.runner import run_service
from services.identity import models
from services.identity import repository as repo
from services.identity.repository import Summary
from services.identity.service import (
    MAX_BATCH,
    IdentityService,
    ResourceInput,
    UpsertOutcome,
    _adapter_ids,
    _Batch,
    _required,
    _resolve_refs,
    _Row,
    _row_values,
    _tag_view,
    _validate,
)
from services.identity.servicer import IdentityServicer
from services.ranker.__main__ import identity_client
from services.ranker.api.servicer import event_from_pb
from services.ranker.personal.events import EventService
from services.ranker.store.models import ListeningEventRow
from services.ranker.store.repository import NewEvent, insert_events

IDENTITY = ipb.DESCRIPTOR.services_by_name["IdentityService"].full_name
RANKER = rpb.DESCRIPTOR.services_by_name["RankerService"].full_name
RPC_TIMEOUT_S = 300
EVENT_TYPES = (rpb.EVENT_TYPE_PLAY, rpb.EVENT_TYPE_COMPLETE, rpb.EVENT_TYPE_SKIP,
               rpb.EVENT_TYPE_LIKE, rpb.EVENT_TYPE_DISLIKE)
EVENT_TYPE_SHARES = (50, 25, 15, 7, 3)
SYLLABLES = ("ka", "lo", "mi", "ra", "ne", "so", "tu", "vi", "el", "an", "dor", "wen", "øy",
             "é", "sh", "ix")


# --- the previous write paths, kept as the reference ---------------------------------------
# Identity: each row looked up on its own (its MBID, its adapter ids, one query per ref),
# written through the ORM and flushed, its relations deleted and re-added. The decision of
# which resource a row denotes is the service's own (`_Batch`), fed with that row's lookups.


def _row_target(session: Session, index: int, item: ResourceInput) -> Summary | None:
    row = _Row.of(index, item)
    mbids = [row.values["mbid"]] if "mbid" in row.values else []
    stored = _Batch(item.type, repo.find_by_mbids(session, [item.type], mbids),
                    repo.find_by_external_ids(session, [item.type], row.adapter_ids))
    return stored._target(row)


def _require_one(session: Session, index: int, field: str, ref: str, hint: str) -> Summary:
    return _required(index, field, _resolve_refs(session, [(ref, hint)])[ref, hint])


def _write_row(session: Session, rtype: str, target: Summary | None, values: dict[str, Any]
               ) -> Any:
    model: Any = models.RESOURCE_MODELS[rtype]
    if target is None:
        row = model(juke_id=uuid7(), **values)
        session.add(row)
        session.flush()
        return row
    row = session.get(model, target.juke_id, with_for_update=True)
    for key, value in values.items():
        setattr(row, key, value)
    return row


def _replace_rows(session: Session, owner: Any, juke_id: uuid.UUID, rows: list[Any]) -> None:
    session.execute(delete(owner.class_).where(owner == juke_id))
    session.add_all(rows)
    session.flush()


def _write_relations(session: Session, rtype: str, juke_id: uuid.UUID, item: ResourceInput,
                     artists: list[Summary], genres: list[Summary]) -> None:
    ext: Any = models.EXTERNAL_ID_MODELS[rtype]
    pairs = _adapter_ids(item)
    if pairs:
        session.execute(insert(ext).values([
            {"id": uuid7(), "resource_juke_id": juke_id, "source": s, "external_id": e}
            for s, e in pairs]).on_conflict_do_nothing(index_elements=["source", "external_id"]))
    if artists:
        link: Any = models.AlbumArtist if rtype == "album" else models.TrackArtist
        owner = link.album_juke_id if rtype == "album" else link.track_juke_id
        first: dict[uuid.UUID, int] = {}
        for position, artist in enumerate(artists):
            first.setdefault(artist.juke_id, position)
        _replace_rows(session, owner, juke_id, [
            link(**{owner.key: juke_id, "artist_juke_id": a, "position": p})
            for a, p in first.items()])
    if genres:
        _replace_rows(session, models.ResourceGenre.resource_juke_id, juke_id, [
            models.ResourceGenre(resource_juke_id=juke_id, genre_juke_id=g, resource_type=rtype)
            for g in dict.fromkeys(g.juke_id for g in genres)])
    if item.work_mbids:
        _replace_rows(session, models.TrackWork.track_juke_id, juke_id, [
            models.TrackWork(track_juke_id=juke_id, work_mbid=w)
            for w in dict.fromkeys(map(uuid.UUID, item.work_mbids))])
    tags = {(t.source, t.name, t.dataset): t for t in map(_tag_view, item.tags)}
    if tags:
        stmt = insert(models.ResourceTag).values([
            {"resource_juke_id": juke_id, "resource_type": rtype, "name": t.name,
             "source": t.source, "weight": t.weight, "dataset": t.dataset}
            for t in tags.values()])
        session.execute(stmt.on_conflict_do_update(
            index_elements=["resource_juke_id", "source", "name", "dataset"],
            set_={"weight": stmt.excluded.weight, "updated_at": func.now()}))


def _upsert_one_row(session: Session, index: int, item: ResourceInput) -> UpsertOutcome:
    where = f"{item.type}s[{index}]"
    target = _row_target(session, index, item)
    artists = [_require_one(session, index, f"{where}.artist_refs", r, "artist")
               for r in item.artist_refs]
    genres = [_require_one(session, index, f"{where}.genre_refs", r, "genre")
              for r in item.genre_refs]
    values = _row_values(item)
    if item.album_ref:
        values["album_juke_id"] = _require_one(session, index, f"{where}.album_ref",
                                               item.album_ref, "album").juke_id
    row = _write_row(session, item.type, target, values)
    _write_relations(session, item.type, row.juke_id, item, artists, genres)
    return UpsertOutcome(Summary(item.type, row.juke_id, row.name, row.mbid), target is None)


class RowAtATimeIdentityService(IdentityService):
    """Identity with the previous upsert: the reference the set-wise one is measured by."""

    def upsert(self, inputs: Sequence[ResourceInput]) -> list[UpsertOutcome]:
        for index, item in enumerate(inputs):
            _validate(index, item)
        return self._write(lambda s: [_upsert_one_row(s, i, item)
                                      for i, item in enumerate(inputs)])


def insert_events_as_values(session: Session, rows: Sequence[NewEvent]) -> int:
    """The previous event insert: the batch as one INSERT ... VALUES list of rows."""
    if not rows:
        return 0
    stmt = (insert(ListeningEventRow).values([asdict(r) for r in rows])
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(ListeningEventRow.id))
    return len(session.execute(stmt).all())


# --- the served variants (`--serve`, run by this benchmark as their own processes) ----------


class EventsOnlyRanker(ranker_pb2_grpc.RankerServiceServicer):
    """The ranker's RecordEvents and nothing else, so no catalog features need loading."""

    def __init__(self, events: EventService) -> None:
        self._events = events

    def RecordEvents(self, request: Any, context: grpc.ServicerContext) -> Any:
        outcome = self._events.record([event_from_pb(e) for e in request.events])
        return rpb.RecordEventsResponse(accepted=outcome.accepted, duplicates=outcome.duplicates,
                                        item_ids=outcome.item_ids)


def serve(variant: str) -> None:
    if variant == "identity-row-at-a-time":
        run_service("identity", [IDENTITY], lambda server, db, _: identity_pb2_grpc
                    .add_IdentityServiceServicer_to_server(
                        IdentityServicer(RowAtATimeIdentityService(db)), server))
        return
    insert_rows = {"events-set-wise": insert_events,
                   "events-values": insert_events_as_values}[variant]

    def register(server: grpc.Server, db: Database, settings: Settings) -> None:
        events = EventService(db, identity_client(settings).resolve_items, insert_rows)
        ranker_pb2_grpc.add_RankerServiceServicer_to_server(EventsOnlyRanker(events), server)

    run_service("ranker", [RANKER], register)


@contextmanager
def served(variant: str, service: str, url: str, env: dict[str, str], log: Path
           ) -> Iterator[str]:
    """`python -m bench.ingest --serve VARIANT` as its own process; its target once SERVING."""
    port = free_port()
    full_env = {**os.environ, "JUKE_LOG_LEVEL": "WARNING", **env, "JUKE_DATABASE_URL": url,
                f"JUKE_{service.upper()}_PORT": str(port)}
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bench.ingest", "--serve", variant],
                                env=full_env, stdout=out, stderr=subprocess.STDOUT)
        target = f"127.0.0.1:{port}"
        try:
            wait_serving(target, proc, name=service)
            yield target
        finally:
            _stop(proc)


# --- synthetic rows ----------------------------------------------------------------------


def _name(rng: random.Random, words: int) -> str:
    return " ".join("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).title()
                    for _ in range(words))


def _spotify(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
                   for _ in range(22))


def _ext(source: str, value: str) -> common_pb2.ExternalId:
    return common_pb2.ExternalId(source=source, external_id=value)


def _tags(rng: random.Random, most: int) -> list[ipb.TagInput]:
    names = rng.sample(("rock", "ambient", "jazz", "techno", "folk", "pop", "noise", "dub"),
                       rng.randint(1, most))
    return [ipb.TagInput(name=n, source=common_pb2.TAG_SOURCE_MUSICBRAINZ,
                         weight=round(rng.uniform(0.1, 1.0), 2)) for n in names]


@dataclass
class Catalog:
    """One import's upsert requests, batch by batch, and the track refs events can name."""

    artists: list[ipb.UpsertArtistsRequest]
    albums: list[ipb.UpsertAlbumsRequest]
    tracks: list[ipb.UpsertTracksRequest]
    track_adapter_refs: list[str]


def _batched(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def synthetic_catalog(n_tracks: int, genre_mbids: list[str], batch: int, seed: int
                      ) -> Catalog:
    rng = random.Random(seed)
    n_groups = max(1, n_tracks // 10)      # one artist and one album per 10 tracks
    artist_ids = [_spotify(rng) for _ in range(n_groups)]
    album_ids = [_spotify(rng) for _ in range(n_groups)]
    track_ids = [_spotify(rng) for _ in range(n_tracks)]
    artists = [ipb.ArtistInput(
        mbid=str(uuid.UUID(int=rng.getrandbits(128))), name=_name(rng, 2),
        sort_name="", external_ids=[_ext("spotify", a)], tags=_tags(rng, 2),
        genre_refs=[f"musicbrainz:{rng.choice(genre_mbids)}"]) for a in artist_ids]
    albums = [ipb.AlbumInput(
        mbid=str(uuid.UUID(int=rng.getrandbits(128))), name=_name(rng, 3),
        external_ids=[_ext("spotify", a)], artist_refs=[f"spotify:{artist_ids[k]}"],
        release_date=f"{rng.randint(1960, 2025)}-{rng.randint(1, 12):02d}-01")
        for k, a in enumerate(album_ids)]
    tracks = []
    for k, t in enumerate(track_ids):
        group = min(k // 10, n_groups - 1)
        featured = [f"spotify:{rng.choice(artist_ids)}"] if rng.random() < 0.2 else []
        tracks.append(ipb.TrackInput(
            mbid=str(uuid.UUID(int=rng.getrandbits(128))), name=_name(rng, rng.randint(1, 4)),
            album_ref=f"spotify:{album_ids[group]}",
            artist_refs=[f"spotify:{artist_ids[group]}", *featured],
            duration_ms=rng.randint(90_000, 420_000), track_number=k % 10 + 1,
            work_mbids=[str(uuid.UUID(int=rng.getrandbits(128)))],
            external_ids=[_ext("spotify", t), _ext("isrc", f"QZ{rng.getrandbits(40):012d}")],
            tags=_tags(rng, 3)))
    return Catalog(
        artists=[ipb.UpsertArtistsRequest(artists=b) for b in _batched(artists, batch)],
        albums=[ipb.UpsertAlbumsRequest(albums=b) for b in _batched(albums, batch)],
        tracks=[ipb.UpsertTracksRequest(tracks=b) for b in _batched(tracks, batch)],
        track_adapter_refs=[f"spotify:{t}" for t in track_ids])


def synthetic_events(n: int, juke_ids: list[str], adapter_refs: list[str], batch: int,
                     seed: int) -> list[rpb.RecordEventsRequest]:
    """Listeners with Zipf-like favourite items; 80% of items by juke_id, 20% by spotify id;
    half the events carry a client idempotency key (the rest get a derived one)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    listeners = max(1, n // 40)
    events = []
    for k in range(n):
        pick = min(int(rng.paretovariate(1.2)) - 1, len(juke_ids) - 1)
        item = rng.randrange(len(juke_ids)) if rng.random() < 0.5 else pick
        stamp = Timestamp()
        stamp.FromDatetime(now - timedelta(seconds=rng.randint(60, 29 * 86_400)))
        user = f"bench-{seed}-{rng.randrange(listeners)}"
        events.append(rpb.ListeningEvent(
            user_id=user, item=juke_ids[item] if rng.random() < 0.8 else adapter_refs[item],
            type=rng.choices(EVENT_TYPES, EVENT_TYPE_SHARES)[0], occurred_at=stamp,
            idempotency_key=f"{user}-{k}" if k % 2 else "",
            session_id=f"s{rng.randrange(10_000)}", context={"device": rng.choice(
                ("ios", "android", "web"))}))
    return [rpb.RecordEventsRequest(events=b) for b in _batched(events, batch)]


# --- measuring ---------------------------------------------------------------------------


@dataclass
class Phase:
    path: str
    what: str
    rows: int
    seconds: float
    batch_ms: dict[str, float]
    load_average: float
    new: int

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def timed(path: str, what: str, requests: Sequence[Any], method: Callable[..., Any],
          rows: str, new: Callable[[Any], int], in_flight: int = 1
          ) -> tuple[Phase, list[Any]]:
    """Send `requests` in order, `in_flight` at a time (1: each waits for the one before);
    `rows` names the repeated field they carry."""
    print(f"  {path}: {what} ({len(requests)} batches) ...", flush=True)

    def send(request: Any) -> tuple[Any, float]:
        started = time.perf_counter()
        reply = method(request, timeout=RPC_TIMEOUT_S)
        return reply, (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(in_flight) as pool:
        sent = list(pool.map(send, requests))
    seconds = time.perf_counter() - started
    replies = [reply for reply, _ in sent]
    phase = Phase(path, what, sum(len(getattr(r, rows)) for r in requests), seconds,
                  percentiles([ms for _, ms in sent]), os.getloadavg()[0],
                  sum(map(new, replies)))
    return phase, replies


def created(reply: Any) -> int:
    return sum(r.created for r in reply.results)


def import_catalog(stub: Any, path: str, catalog: Catalog, in_flight: int = 1
                   ) -> tuple[list[Phase], list[str]]:
    """Artists, albums, then tracks (each kind once the one before is written); returns the
    phases and the tracks' juke_ids."""
    phases = []
    for what, requests, method in (("artists", catalog.artists, stub.UpsertArtists),
                                   ("albums", catalog.albums, stub.UpsertAlbums),
                                   ("tracks", catalog.tracks, stub.UpsertTracks)):
        phase, replies = timed(path, what, requests, method, what, created, in_flight)
        phases.append(phase)
    return phases, [r.juke_id for reply in replies for r in reply.results]


def post_events(stub: Any, path: str, what: str, requests: list[rpb.RecordEventsRequest],
                in_flight: int = 1) -> Phase:
    phase, _ = timed(path, what, requests, stub.RecordEvents, "events",
                     lambda reply: reply.accepted, in_flight)
    return phase


def upsert_genres(stub: Any, seed: int) -> list[str]:
    rng = random.Random(seed)
    mbids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(100)]
    stub.UpsertGenres(ipb.UpsertGenresRequest(genres=[
        ipb.GenreInput(mbid=m, name=f"genre {k}") for k, m in enumerate(mbids)]))
    return mbids


def pipelined(args: argparse.Namespace) -> str:
    return f"set-wise, {args.in_flight} in flight"


def run(args: argparse.Namespace) -> dict[str, Any]:
    phases: list[Phase] = []
    with database() as url, tempfile.TemporaryDirectory(prefix="juke-bench-ingest-") as tmp, \
            ExitStack() as stack:
        logs = Path(args.logs or tmp)
        logs.mkdir(parents=True, exist_ok=True)
        set_wise, _ = stack.enter_context(service_process(
            "identity", url, log=logs / "identity.log"))
        reference = stack.enter_context(served(
            "identity-row-at-a-time", "identity", url, {}, logs / "identity-reference.log"))
        stubs = {name: identity_pb2_grpc.IdentityServiceStub(stack.enter_context(
            channel(target, Settings.from_env(), dependency="identity")))
            for name, target in (("set-wise", set_wise), ("row at a time", reference))}
        genres = upsert_genres(stubs["set-wise"], args.seed)
        print("building synthetic rows ...", flush=True)
        catalogs = {"row at a time": synthetic_catalog(args.reference_tracks, genres,
                                                       args.batch, args.seed + 1),
                    "set-wise": synthetic_catalog(args.tracks, genres, args.batch, args.seed)}
        if args.in_flight > 1:
            catalogs[pipelined(args)] = synthetic_catalog(args.tracks, genres, args.batch,
                                                          args.seed + 2)
        track_ids: dict[str, list[str]] = {}
        for path, catalog in catalogs.items():
            stub = stubs["row at a time" if path == "row at a time" else "set-wise"]
            done, track_ids[path] = import_catalog(
                stub, path, catalog, args.in_flight if path == pipelined(args) else 1)
            phases += done
        resend, _ = timed("set-wise", "tracks re-sent", catalogs["set-wise"].tracks,
                          stubs["set-wise"].UpsertTracks, "tracks", created)
        phases.append(resend)
        if resend.new:
            raise SystemExit(f"the re-send created {resend.new} tracks")
        phases += measure_events(stack, url, logs, set_wise, track_ids["set-wise"],
                                 catalogs["set-wise"].track_adapter_refs, args)
    return report(phases, args)


def measure_events(stack: ExitStack, url: str, logs: Path, identity: str,
                   juke_ids: list[str], adapter_refs: list[str], args: argparse.Namespace
                   ) -> list[Phase]:
    env = {"JUKE_IDENTITY_TARGET": identity}
    stubs = {path: ranker_pb2_grpc.RankerServiceStub(stack.enter_context(channel(
        stack.enter_context(served(variant, "ranker", url, env, logs / f"{variant}.log")),
        Settings.from_env(), dependency="ranker")))
        for path, variant in (("set-wise", "events-set-wise"),
                              ("VALUES list", "events-values"))}
    print("building synthetic events ...", flush=True)

    def events(n: int, seed: int) -> list[rpb.RecordEventsRequest]:
        return synthetic_events(n, juke_ids, adapter_refs, args.batch, seed)

    for stub in stubs.values():  # connections, caches and plans warm before timing
        stub.RecordEvents(events(args.batch, 99)[0], timeout=RPC_TIMEOUT_S)
    set_wise = events(args.events, args.seed)
    phases = [post_events(stubs["VALUES list"], "previous (VALUES list)", "events",
                          events(args.reference_events, args.seed + 1)),
              post_events(stubs["set-wise"], "set-wise", "events", set_wise),
              post_events(stubs["set-wise"], "set-wise", "events re-sent",
                          set_wise[:max(1, len(set_wise) // 5)])]
    if args.in_flight > 1:
        phases.append(post_events(stubs["set-wise"], pipelined(args), "events",
                                  events(args.events, args.seed + 2), args.in_flight))
    return phases


def report(phases: list[Phase], args: argparse.Namespace) -> dict[str, Any]:
    load = os.getloadavg()
    print(f"\n{os.cpu_count()} CPUs; batches of {args.batch}; one client; "
          f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min)\n")
    print("| path | phase | rows | seconds | rows/s | p50 ms/batch | p95 ms/batch | new rows "
          "| load (1 min) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for p in phases:
        print(f"| {p.path} | {p.what} | {p.rows:,} | {p.seconds:.1f} | {p.rows_per_s:,.0f} | "
              f"{p.batch_ms['p50']:.0f} | {p.batch_ms['p95']:.0f} | {p.new:,} | "
              f"{p.load_average:.1f} |")
    figures = {
        "cpus": os.cpu_count(), "batch": args.batch, "load_average": list(load),
        "phases": [{**asdict(p), "rows_per_s": round(p.rows_per_s, 1)} for p in phases],
    }
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracks", type=int, default=50_000,
                        help="tracks upserted set-wise (plus a tenth as many artists, albums)")
    parser.add_argument("--reference-tracks", type=int, default=2_000,
                        help="tracks upserted row at a time (the reference is slow)")
    parser.add_argument("--events", type=int, default=100_000, help="events posted set-wise")
    parser.add_argument("--reference-events", type=int, default=20_000,
                        help="events posted through the previous insert")
    parser.add_argument("--batch", type=int, default=1000, help=f"rows per call (<= {MAX_BATCH})")
    parser.add_argument("--in-flight", type=int, default=2,
                        help="also import and post set-wise with this many batches in flight "
                             "from the one client (1: only one at a time)")
    parser.add_argument("--json", default="", help="also write the figures to this file")
    parser.add_argument("--logs", default="", help="keep the services' logs in this directory")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--serve", help=argparse.SUPPRESS,
                        choices=("identity-row-at-a-time", "events-set-wise", "events-values"))
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return
    if not 1 <= args.batch <= MAX_BATCH:
        parser.error(f"--batch {args.batch} must be within 1..{MAX_BATCH}")
    if args.in_flight < 1:
        parser.error(f"--in-flight {args.in_flight} must be at least 1")
    if min(args.tracks, args.reference_tracks, args.events, args.reference_events) < 10:
        parser.error("--tracks, --reference-tracks, --events and --reference-events must be "
                     ">= 10")
    run(args)


if __name__ == "__main__":
    main()
