"""Every model kind promoted in a mesh started with JUKE_ENVIRONMENT=production, each one
approved through the Temporal UI, with the gate numbers it passed.

    python -m bench.production_promotions [--root DIR] [--keep] [--json PATH]
        [--hetrec PATH] [--coverage-min 0.05] [--cold-start-max-regression 0.6]
        [--weights W_CONTENT W_META W_COOC LAMBDA W_COLLABORATIVE]

What it does, all through the operator's own tools (`juke`, REST, the Temporal UI's HTTP API):

1. `juke up --detach` with JUKE_ENVIRONMENT=production on private ports; the promotion
   approver is the account running this, and the gateway has two admin keys: the owner's
   and an operator's.
2. Shows every direct activation refused (CLI flags; the embedder activates nothing at
   start).
3. Loads real data: the HetRec 2011 import (the evaluation data set), the licensed audio
   corpus, and a bounded batch of synthetic first-party listening sessions over the
   imported artists (the production training set `juke-events`; synthetic because this
   machine has no real listeners).
4. Candidates of the four kinds: the built-in MSD-musicnn embedding model (backfilled
   over the production-eligible corpus first), the weight config the evaluation ships
   (in production a migration adds it as a candidate; `--weights` makes another), a
   co-occurrence and a CF model retrained from `juke-events`.
5. For each: `juke models promote` (gates, governance), waits for `awaiting_approval`,
   shows the operator's admin key refused over REST (it is not the owner's, though its
   body names the owner), then sends the owner's decision the way the Temporal UI's
   "Send a Signal" does, and waits for the workflow's result and the activation log.
6. A table: kind, candidate, status, each gate's candidate/active/threshold numbers, the
   governance verdict, who approved, and seconds from the UI decision to the activation
   being logged.

The embedding model is held to the default gates. On HetRec no ranker model's top-10 lists
cover 30% of the artists (the hybrid and CF reach 6-8%, see the README's evaluation), and
the collaborative signal trades the (near-zero) cold-start nDCG@10 for accuracy on known
artists, so the owner lowers two gates on the command line, as an operator would:
`--coverage-min` (default 0.05) for the three ranker kinds and `--cold-start-max-regression`
(default 0.6) for the weight config; the relative nDCG@10 and Recall@10 gains keep their
defaults, and the table prints the threshold each gate was held to. Prints the load
average.
Runs about 15 minutes on 2 cores (the embedding backfill is most of it).
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench._mesh import free_port
from bench._temporal_ui import signal_through_ui
from gateway.auth import Role, key_entry, new_key
from services.cli.ranking import refresh_every_ranker
from services.common.config import Settings

JUKE = str(Path(sys.executable).parent / "juke")
PORTS = ("PG", "TEMPORAL", "TEMPORAL_UI", "GATEWAY", "IDENTITY", "GOVERNANCE", "EMBEDDER",
         "RANKER", "EMBEDDER_WORKER", "RANKER_WORKER")
MUSICNN = "msd-musicnn:0.1.0"
LISTENERS, COMMUNITIES, ARTISTS_PER_COMMUNITY = 60, 6, 8
FINAL = ("failed_gates", "refused_by_governance", "rejected", "expired", "activated")


@dataclass
class Mesh:
    env: dict[str, str]
    keys: dict[str, str]
    transcript: list[str] = field(default_factory=list)

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.env['JUKE_GATEWAY_PORT']}"

    @property
    def ui(self) -> str:
        return f"http://127.0.0.1:{self.env['JUKE_TEMPORAL_UI_PORT']}"

    def juke(self, *args: str, timeout: float = 1800, check: bool = True
             ) -> subprocess.CompletedProcess[str]:
        self.say(f"$ juke {' '.join(args)}")
        done = subprocess.run([JUKE, *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        for line in (done.stdout + done.stderr).strip().splitlines()[-12:]:
            self.say(f"    {line}")
        if check and done.returncode != 0:
            raise SystemExit(f"juke {' '.join(args)} failed ({done.returncode})")
        return done

    def http(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.gateway, timeout=60,
                            headers={"Authorization": f"Bearer {self.keys[who]}"})

    def say(self, line: str) -> None:
        print(line, flush=True)
        self.transcript.append(line)


def mesh_env(root: Path, owner: str) -> tuple[dict[str, str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("JUKE_DATABASE_URL", "JUKE_TEMPORAL_ADDRESS", "JUKE_API_KEYS_FILE")}
    env.update({f"JUKE_{name}_PORT": str(free_port()) for name in PORTS})
    keys = {"owner": new_key(), "operator": new_key(), "writer": new_key()}
    env.update(JUKE_HOME=str(root / "juke"), JUKE_CORPUS_DIR=str(root / "corpus"),
               JUKE_ENVIRONMENT="production", JUKE_PROMOTION_APPROVER=owner,
               JUKE_API_KEYS=",".join([key_entry(owner, Role.ADMIN, keys["owner"]),
                                       key_entry("operator", Role.ADMIN, keys["operator"]),
                                       key_entry("app", Role.WRITE, keys["writer"])]))
    return env, keys


@contextmanager
def production_mesh(root: Path, keep: bool) -> Iterator[Mesh]:
    owner = pwd.getpwuid(os.getuid()).pw_name
    env, keys = mesh_env(root, owner)
    mesh = Mesh(env, keys)
    mesh.say(f"# a production mesh under {root}; approver (JUKE_PROMOTION_APPROVER): {owner}")
    mesh.juke("up", "--detach", timeout=600)
    try:
        yield mesh
    finally:
        if keep:
            mesh.say(f"kept running: JUKE_HOME={env['JUKE_HOME']} (stop with `juke down`)")
        else:
            mesh.juke("down", timeout=300, check=False)


def models(mesh: Mesh, kind: str) -> list[dict[str, Any]]:
    with mesh.http("owner") as http:
        reply = http.get("/api/v1/models", params={"kind": kind})
    reply.raise_for_status()
    return list(reply.json())


def newest_candidate(mesh: Mesh, kind: str) -> dict[str, Any]:
    waiting = [m for m in models(mesh, kind) if not m["active"]]
    return max(waiting, key=lambda m: m["created_at"] or "")


def history(mesh: Mesh, model_id: str) -> list[dict[str, Any]]:
    with mesh.http("owner") as http:
        reply = http.get(f"/api/v1/models/{model_id}/history")
    reply.raise_for_status()
    return list(reply.json()["entries"])


def show_refusals(mesh: Mesh) -> dict[str, str]:
    """Direct activation in production: each path answers FAILED_PRECONDITION."""
    mesh.say("\n## direct activation is refused in production")
    musicnn = next(m for m in models(mesh, "embedding") if m["label"].startswith("msd-musicnn"))
    initial = next(m for m in models(mesh, "weights") if m["active"])
    refused = {}
    for argv in (("models", "activate", musicnn["id"], "--kind", "embedding"),
                 ("weights", "--activate", initial["id"]),
                 ("retrain", "cf", "--activate")):
        done = mesh.juke(*argv, check=False)
        if done.returncode == 0:
            raise SystemExit(f"juke {' '.join(argv)} was not refused in production")
        refused[" ".join(argv)] = done.stderr.strip().splitlines()[-1]
    return refused


def load_data(mesh: Mesh, hetrec: Path) -> None:
    mesh.say("\n## data: HetRec (evaluation), the licensed corpus, first-party events")
    mesh.juke("lastfm", "import", "--path", str(hetrec))
    mesh.juke("corpus", "fetch")
    mesh.juke("corpus", "ingest")
    refresh_every_ranker(Settings.from_env(mesh.env))  # the new artists, now, not in a minute
    artists = [line.split("\t")[0] for line in
               (hetrec / "artists.dat").read_text(errors="replace").splitlines()[1:] if line]
    post_events(mesh, listening_sessions(artists))


def listening_sessions(artist_ids: list[str]) -> list[dict[str, Any]]:
    """Synthetic first-party sessions: listeners in communities, each playing their
    community's artists over two sessions and skipping one other artist."""
    per = ARTISTS_PER_COMMUNITY
    groups = [artist_ids[n * per:(n + 1) * per] for n in range(COMMUNITIES)]
    start = datetime.now(UTC) - timedelta(days=3)
    events: list[dict[str, Any]] = []
    for user in range(LISTENERS):
        group, other = groups[user % COMMUNITIES], groups[(user + 1) % COMMUNITIES]
        for session in range(2):
            at = start + timedelta(hours=user, minutes=40 * session)
            picks = group[session:session + per - 2]
            sid = f"walkthrough-{user}-{session}"
            events += [{"user_id": f"listener-{user}", "item": f"lastfm:{artist}",
                        "type": "complete" if n % 2 else "play", "session_id": sid,
                        "timestamp": (at + timedelta(minutes=4 * n)).isoformat()}
                       for n, artist in enumerate(picks)]
            events.append({"user_id": f"listener-{user}", "item": f"lastfm:{other[0]}",
                           "type": "skip", "session_id": sid,
                           "timestamp": (at + timedelta(minutes=35)).isoformat()})
    return events


def post_events(mesh: Mesh, events: list[dict[str, Any]]) -> None:
    with mesh.http("writer") as http:
        reply = http.post("/api/v1/events", json={"events": events})
    reply.raise_for_status()
    body = reply.json()
    mesh.say(f"posted {len(events)} synthetic first-party events: {body['accepted']} accepted, "
             f"{body['duplicates']} duplicates")


def candidates(mesh: Mesh, weights: list[str]) -> dict[str, str]:
    mesh.say("\n## candidates")
    musicnn = next(m for m in models(mesh, "embedding") if m["label"].startswith("msd-musicnn"))
    mesh.juke("embed", "backfill", "--model", MUSICNN, "--env", "production", timeout=3600)
    mesh.juke("retrain", "cooccurrence", "--dataset", "juke-events")
    mesh.juke("retrain", "cf", "--dataset", "juke-events")
    if weights:
        created = mesh.juke("weights", "--create", *weights[:4], "--collaborative", weights[4])
        config = created.stdout.split("created ", 1)[1].split()[0]
    else:  # the shipped operating point, a candidate in production
        config = newest_candidate(mesh, "weights")["id"]
    return {"embedding": musicnn["id"], "weights": config,
            "cooccurrence": newest_candidate(mesh, "cooccurrence")["id"],
            "cf": newest_candidate(mesh, "cf")["id"]}


def wait_for(mesh: Mesh, model_id: str, events: tuple[str, ...], timeout: float = 1800
             ) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in history(mesh, model_id) if e["event"] in events]
        if found:
            return found[-1]
        time.sleep(1)
    raise SystemExit(f"{model_id}: none of {events} within {timeout:.0f} s")


def gate_flags(kind: str, args: argparse.Namespace) -> list[str]:
    """The gates the owner lowers for this walkthrough (see the module docstring)."""
    if kind == "embedding":
        return []
    flags = ["--coverage-min", str(args.coverage_min)]
    if kind == "weights":
        flags += ["--cold-start-max-regression", str(args.cold_start_max_regression)]
    return flags


def promote(mesh: Mesh, kind: str, model_id: str, flags: list[str]) -> dict[str, Any]:
    mesh.say(f"\n## promoting the {kind} candidate {model_id}")
    mesh.juke("models", "promote", model_id, "--kind", kind, *flags)
    waited = wait_for(mesh, model_id, ("awaiting_approval", *FINAL[:-1]))
    row: dict[str, Any] = {"kind": kind, "candidate": model_id, "gates": waited["gates"],
                           "governance": waited["detail"]}
    if waited["event"] != "awaiting_approval":
        mesh.say(f"ended {waited['event']}: {waited['detail']}")
        return row | {"status": waited["event"]}
    row["operator_refused"] = operator_refused(mesh, kind, model_id)
    owner = mesh.env["JUKE_PROMOTION_APPROVER"]
    decided = time.monotonic()
    signal_through_ui(mesh.ui, f"promotion-{kind}-{model_id}", "decide",
                      {"approver": owner, "approve": True,
                       "reason": "approved in the Temporal UI after reading the gates"})
    mesh.say(f"decided in the Temporal UI ({mesh.ui}): signal `decide` as {owner}")
    ended = wait_for(mesh, model_id, FINAL)
    row |= {"status": ended["event"], "approved_by": ended["approved_by"],
            "decision_to_activation_s": round(time.monotonic() - decided, 2)}
    mesh.say(f"{ended['event']}: approved by {ended['approved_by']}, path {ended['path']}")
    return row


def operator_refused(mesh: Mesh, kind: str, model_id: str) -> int:
    """An admin key that is not the owner's, naming the owner in its body: refused."""
    with mesh.http("operator") as http:
        reply = http.post(f"/api/v1/promotions/{model_id}/approve", params={"kind": kind},
                          json={"approve": True,
                                "approver": mesh.env["JUKE_PROMOTION_APPROVER"]})
    mesh.say(f"the operator's admin key naming the owner: HTTP {reply.status_code} "
             f"{reply.text[:160]}")
    return reply.status_code


def served_bundle(mesh: Mesh) -> dict[str, Any]:
    with mesh.http("owner") as http:
        reply = http.post("/api/v1/recommendations/",
                          json={"seed_items": ["lastfm:89"], "limit": 3})
    reply.raise_for_status()
    return dict(reply.json()["model_bundle"])


def gate_cells(gates: dict[str, Any]) -> str:
    """`name candidate [vs active] (needed) pass|FAIL` per gate."""
    cells = []
    for name, g in sorted(gates.items()):
        if not isinstance(g, dict):
            continue
        against = "" if g["active"] is None else f" vs {g['active']:.4f}"
        cells.append(f"{name} {g['candidate']:.4f}{against} (needed {g['needed']:g}) "
                     f"{'pass' if g['passed'] else 'FAIL'}")
    return "; ".join(cells)


def print_table(mesh: Mesh, rows: list[dict[str, Any]]) -> None:
    mesh.say("\n| kind | candidate | status | approved by | UI decision -> active (s) | "
             "operator key | gates (candidate / active / threshold) | governance |")
    mesh.say("|---|---|---|---|---|---|---|---|")
    for r in rows:
        mesh.say(f"| {r['kind']} | {r['candidate']} | {r['status']} | "
                 f"{r.get('approved_by') or '-'} | {r.get('decision_to_activation_s', '-')} | "
                 f"{r.get('operator_refused', '-')} | {gate_cells(r['gates'])} | "
                 f"{r['governance'] or '-'} |")


def run(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(args.root or tempfile.mkdtemp(prefix="juke-production-"))
    result: dict[str, Any] = {"load_average_before": os.getloadavg()}
    with production_mesh(root, args.keep) as mesh:
        result["refused"] = show_refusals(mesh)
        load_data(mesh, Path(args.hetrec))
        ids = candidates(mesh, args.weights)
        # The weight config first: co-occurrence is judged in the hybrid with the active one.
        rows = [promote(mesh, kind, ids[kind], gate_flags(kind, args))
                for kind in ("embedding", "weights", "cooccurrence", "cf")]
        result["rows"] = rows
        result["bundle"] = served_bundle(mesh)
        mesh.say(f"\nthe ranker serves: {json.dumps(result['bundle'])}")
        print_table(mesh, rows)
        result["load_average_after"] = os.getloadavg()
        mesh.say(f"\nload average before {result['load_average_before']}, "
                 f"after {result['load_average_after']}")
        result["transcript"] = mesh.transcript
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="where the mesh keeps its state (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="leave the mesh running")
    parser.add_argument("--json", help="write every figure and the transcript here")
    parser.add_argument("--hetrec", default=str(Settings.from_env().shared_data_dir
                                                / "lastfm-hetrec-2011"))
    parser.add_argument("--coverage-min", type=float, default=0.05)
    parser.add_argument("--cold-start-max-regression", type=float, default=0.6)
    parser.add_argument("--weights", nargs=5, help="a weight config to promote instead of "
                        "the shipped one", metavar=("W_CONTENT", "W_META", "W_COOC", "LAMBDA",
                                                   "W_COLLABORATIVE"))
    args = parser.parse_args()
    result = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
