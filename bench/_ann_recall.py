"""ANN recall of the embedder's IVFFlat index against exact search, straight in PostgreSQL.

The ANN query is the embedder's own (services/embedder/repository.py `nearest_tracks`):
ORDER BY the indexed expression `vector::vector(dim)` under the model's partial index,
at a given `ivfflat.probes`. Exact search orders by the raw column with index scans off,
so PostgreSQL scans every vector of the model. Both return the top `pool` ids; recall@k =
|ANN top k ∩ exact top k| / k, averaged over the queries.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import psycopg

from bench._mesh import percentiles
from services.embedder.repository import index_name


@dataclass(frozen=True)
class RecallRow:
    probes: int | None          # None: exact search
    recall_at_10: float
    recall_at_pool: float
    latency_ms: dict[str, float]


def _literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector.tolist()) + "]"


def _top(conn: psycopg.Connection, sql: str, model_id: uuid.UUID, query: str,
         pool: int) -> tuple[list[uuid.UUID], float]:
    started = time.perf_counter()
    rows = conn.execute(sql, (model_id, query, pool), prepare=False).fetchall()
    return [r[0] for r in rows], (time.perf_counter() - started) * 1000


def ann_sql(dim: int) -> str:
    return ("SELECT track_juke_id FROM embedder.track_embedding WHERE model_id = %s "
            f"ORDER BY vector::vector({dim}) <=> CAST(%s AS vector) LIMIT %s")


EXACT_SQL = ("SELECT track_juke_id FROM embedder.track_embedding WHERE model_id = %s "
             "ORDER BY vector <=> CAST(%s AS vector) LIMIT %s")


def index_is_used(url: str, model_id: uuid.UUID, dim: int, query: np.ndarray) -> bool:
    """Whether the planner picks the model's IVFFlat index for the embedder's query."""
    with psycopg.connect(url) as conn:
        plan = conn.execute(f"EXPLAIN {ann_sql(dim)}", (model_id, _literal(query), 200),
                            prepare=False).fetchall()
    return any(index_name(model_id) in row[0] for row in plan)


def measure(url: str, model_id: uuid.UUID, dim: int, queries: np.ndarray,
            probes: Sequence[int], pool: int = 200, k: int = 10) -> list[RecallRow]:
    literals = [_literal(q) for q in queries]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET enable_indexscan = off")
        conn.execute("SET enable_bitmapscan = off")
        exact, exact_ms = zip(*(_top(conn, EXACT_SQL, model_id, q, pool) for q in literals),
                              strict=True)
    rows = [RecallRow(None, 1.0, 1.0, percentiles(list(exact_ms)))]
    for p in probes:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"SET ivfflat.probes = {int(p)}")
            found, ms = zip(*(_top(conn, ann_sql(dim), model_id, q, pool) for q in literals),
                            strict=True)
        at_k = np.mean([len(set(f[:k]) & set(e[:k])) / k for f, e in zip(found, exact,
                                                                         strict=True)])
        at_pool = np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found, exact,
                                                                        strict=True)])
        rows.append(RecallRow(p, float(at_k), float(at_pool), percentiles(list(ms))))
    return rows
