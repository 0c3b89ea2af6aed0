"""`juke models list|show|history|activate`: the registry of every model kind as tables.

Models live in the service that owns their kind (the embedder for embedding models, the
ranker for co-occurrence, CF and reranker models and weight configs); these commands ask both and
print one registry.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

import grpc

from juke.common.v1 import common_pb2
from juke.embedder.v1 import embedder_pb2 as epb
from juke.ranker.v1 import ranker_pb2 as rpb
from services.cli.embed import embedder_stub
from services.cli.ranking import ranker_stub
from services.common.config import Settings
from services.common.promotion_contracts import KINDS
from services.common.registry import STATES


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    for line in (headers, ["-" * w for w in widths], *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def _when(ts: object) -> str:
    has = getattr(ts, "seconds", 0)
    return ts.ToDatetime().strftime("%Y-%m-%d %H:%M:%S") if has else "-"  # type: ignore[attr-defined]


def registry_models(settings: Settings, kind: str = "", state: str = ""
                    ) -> list[common_pb2.RegistryModel]:
    """Every kind's models (or one kind's), newest activation first within a kind."""
    models: list[common_pb2.RegistryModel] = []
    if kind in ("", "embedding"):
        channel, embedder = embedder_stub(settings)
        with channel:
            models += embedder.ListRegistryModels(epb.ListRegistryModelsRequest(
                state=state)).models
    if kind != "embedding":
        channel, ranker = ranker_stub(settings)
        with channel:
            models += ranker.ListRegistryModels(rpb.ListRegistryModelsRequest(
                kind=kind, state=state)).models
    return models


def model_history(settings: Settings, model_id: str
                  ) -> tuple[common_pb2.RegistryModel, list[common_pb2.ActivationLogEntry]]:
    """The model (of whichever kind) and its activation log; NOT_FOUND from both: SystemExit."""
    channel, ranker = ranker_stub(settings)
    with channel:
        try:
            reply = ranker.GetModelHistory(rpb.GetModelHistoryRequest(id=model_id))
            return reply.model, list(reply.entries)
        except grpc.RpcError as err:
            if err.code() not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise
    channel, embedder = embedder_stub(settings)
    with channel:
        try:
            found = embedder.GetModelHistory(epb.GetModelHistoryRequest(id=model_id))
        except grpc.RpcError as err:
            if err.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise SystemExit(f"juke: no model {model_id!r} of any kind") from None
            raise
    return found.model, list(found.entries)


def model_rows(models: Sequence[common_pb2.RegistryModel]) -> list[list[str]]:
    return [[m.kind, m.id, m.label, m.state, m.production or "-", _when(m.activated_at),
             (m.training_set_hash or "-")[:12]] for m in models]


MODEL_HEADERS = ("KIND", "ID", "MODEL", "STATE", "PRODUCTION", "ACTIVATED", "TRAINING SET")


def _gates(entry: common_pb2.ActivationLogEntry) -> str:
    gates = json.loads(entry.gates_json or "{}")
    parts = []
    for name, numbers in gates.items():
        if isinstance(numbers, dict):
            active = numbers.get("active")
            versus = "" if active is None else f" vs {active:.4g}"
            mark = "ok" if numbers.get("passed") else "FAIL"
            parts.append(f"{name} {numbers.get('candidate', 0):.4g}{versus} "
                         f"(needs {numbers.get('needed', 0):.3g}) {mark}")
    return "; ".join(parts) or "-"


def history_rows(entries: Sequence[common_pb2.ActivationLogEntry]) -> list[list[str]]:
    return [[_when(e.recorded_at), e.event, e.path or "-", e.actor or "-", e.approved_by or "-",
             (e.training_set_hash or "-")[:12], _gates(e), e.detail or "-"] for e in entries]


HISTORY_HEADERS = ("WHEN", "EVENT", "PATH", "BY", "APPROVED BY", "TRAINING SET", "GATES",
                   "DETAIL")


def _cmd_list(args: argparse.Namespace) -> int:
    models = registry_models(Settings.from_env(), args.kind or "", args.state or "")
    print_table(MODEL_HEADERS, model_rows(models))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    model, entries = model_history(Settings.from_env(), args.model)
    print_table(MODEL_HEADERS, model_rows([model]))
    if model.training_data:
        print(f"training data: {model.training_data}")
    if entries:
        print()
        print_table(HISTORY_HEADERS, history_rows(entries[-1:]))
    return 0


def _cmd_history(args: argparse.Namespace) -> int:
    model, entries = model_history(Settings.from_env(), args.model)
    print(f"{model.kind} {model.label} ({model.id}): {model.state}")
    print_table(HISTORY_HEADERS, history_rows(entries))
    return 0


PENDING_HEADERS = ("KIND", "ID", "MODEL", "WAITING SINCE", "REQUESTED BY", "GATES", "PROMOTION")


def pending(settings: Settings) -> list[list[str]]:
    """Every model whose promotion waits for approval, with what its gates measured."""
    rows = []
    for model in registry_models(settings, state="awaiting_approval"):
        _, entries = model_history(settings, model.id)
        waiting = entries[-1] if entries else common_pb2.ActivationLogEntry()
        rows.append([model.kind, model.id, model.label, _when(waiting.recorded_at),
                     waiting.actor or "-", _gates(waiting), waiting.promotion_id or "-"])
    return rows


def _cmd_pending(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    rows = pending(settings)
    print_table(PENDING_HEADERS, rows)
    if rows:
        print(f"\ndecide: juke models approve <id> --kind <kind> [--reject --reason R] "
              f"(as {settings.promotion_approver}); Temporal UI: http://{settings.host}:"
              f"{settings.temporal_ui_port}/namespaces/{settings.temporal_namespace}/workflows")
    return 0


def activate(settings: Settings, kind: str, model_id: str) -> str:
    """Direct activation: refused by the owning service in production (it names the
    promotion command), logged as ungated elsewhere. Returns what is active now."""
    if kind == "embedding":
        channel, embedder = embedder_stub(settings)
        with channel:
            reply = embedder.ActivateModel(epb.ActivateModelRequest(
                model_id=model_id, requested_by=settings.operator))
        return f"{reply.model.name} {reply.model.version} (was {reply.previous_model_id or '-'})"
    channel, ranker = ranker_stub(settings)
    with channel:
        if kind == "cooccurrence":
            cooc = ranker.ActivateCooccurrenceModel(rpb.ActivateCooccurrenceModelRequest(
                id=model_id, requested_by=settings.operator))
            return f"{cooc.model.version} (was {cooc.previous_id or '-'})"
        if kind == "reranker":
            reply = ranker.ActivateRegistryModel(rpb.ActivateRegistryModelRequest(
                kind=kind, id=model_id, requested_by=settings.operator))
            return f"{reply.model.label} (was {reply.previous_id or '-'})"
        if kind == "cf":
            cf = ranker.ActivateCfModel(rpb.ActivateCfModelRequest(
                id=model_id, requested_by=settings.operator))
            return f"{cf.model.version} (was {cf.previous_id or '-'})"
        weights = ranker.ActivateWeightConfig(rpb.ActivateWeightConfigRequest(
            id=model_id, requested_by=settings.operator))
        return f"{weights.config.id} (was {weights.previous_id or '-'})"


def _cmd_activate(args: argparse.Namespace) -> int:
    print(f"active: {activate(Settings.from_env(), args.kind, args.model)}; logged as ungated")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds list/show/history/activate to the `juke models` group made by services.cli.embed."""
    models = subparsers.choices["models"]
    sub = next(a for a in models._actions if isinstance(a, argparse._SubParsersAction))
    ls = sub.add_parser("list", help="every model of every kind, with its state")
    ls.add_argument("--kind", choices=KINDS)
    ls.add_argument("--state", choices=STATES)
    ls.set_defaults(func=_cmd_list)
    show = sub.add_parser("show", help="one model and its latest log entry")
    show.add_argument("model", help="model id")
    show.set_defaults(func=_cmd_show)
    hist = sub.add_parser("history", help="one model's activation log")
    hist.add_argument("model", help="model id")
    hist.set_defaults(func=_cmd_history)
    sub.add_parser("pending", help="promotions waiting for the owner's approval"
                   ).set_defaults(func=_cmd_pending)
    act = sub.add_parser("activate", help="direct activation, outside production only (in "
                                          "production: `juke models promote`)")
    act.add_argument("model", help="model id (embedding models also name:version)")
    act.add_argument("--kind", choices=KINDS, default="embedding")
    act.set_defaults(func=_cmd_activate)
