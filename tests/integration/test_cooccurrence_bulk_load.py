"""The ranker's bulk read of a co-occurrence model (binary COPY, UUID keys mapped to catalog
positions) builds exactly the index the row-by-row path builds."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from sqlalchemy.orm import Session

from services.ranker.core.features import CatalogFeatures, ResourceRow
from services.ranker.core.pmi import CooccurrenceTable
from services.ranker.core.signals import CooccurrenceIndex
from services.ranker.serving.uuid_keys import UuidPositions
from services.ranker.store import repository as repo

pytestmark = pytest.mark.integration

# Trailing zero bytes: numpy's S16 strips them on the way out, the key must still match.
ZERO_TAIL = uuid.UUID("12345678-1234-7234-8234-123456780000")
ARTISTS = [ZERO_TAIL, *(uuid.UUID(int=(7 << 76) | (2 << 62) | k) for k in range(1, 5))]
NOT_IN_CATALOG = uuid.UUID("00000000-0000-7000-8000-00000000dead")



def _catalog() -> CatalogFeatures:
    rows = [ResourceRow(str(a), "artist", f"artist {k}") for k, a in enumerate(ARTISTS)]
    rows.append(ResourceRow("not-a-uuid", "artist", "legacy id"))
    return CatalogFeatures.build(rows)


def test_bulk_read_matches_the_row_by_row_index(session: Session) -> None:
    a0, a1, a2, a3, a4 = ARTISTS
    rows = [(a0, a1, 5, 1.25), (a1, a0, 5, 1.25), (a2, a3, 3, 0.5), (a3, a4, 2, -0.75),
            (a4, NOT_IN_CATALOG, 9, 2.0), (a0, a4, 1, 1e-300)]
    model_id = repo.save_cooccurrence_model(
        session, {"version": f"bulk-load-{uuid.uuid4().hex}", "training_set_hash": "0" * 64,
                  "item_type": "artist"}, rows)

    arrays = repo.cooccurrence_arrays(session, model_id)
    assert arrays.co_count.tolist() == [r[2] for r in rows]
    assert arrays.pmi_score.tolist() == [r[3] for r in rows]  # float8 bits, unchanged
    features = _catalog()
    positions = UuidPositions(features)
    a, b = positions.of(arrays.item_a), positions.of(arrays.item_b)
    assert a.tolist() == [features.index[str(r[0])] for r in rows]
    assert b[-2] == -1 and b[:-2].tolist() == [features.index[str(r[1])] for r in rows[:-2]]

    bulk = CooccurrenceIndex.from_positions(features, a, b, arrays.co_count, arrays.pmi_score)
    a_text, b_text, counts, scores = repo.cooccurrence_rows(session, model_id)
    assert a_text.tolist() == [str(r[0]) for r in rows]
    by_rows = CooccurrenceIndex(features, CooccurrenceTable(a_text, b_text, counts, scores))
    assert bulk.unmatched_rows == by_rows.unmatched_rows == 1
    assert (bulk.ppmi != by_rows.ppmi).nnz == 0
    assert (bulk.co_count != by_rows.co_count).nnz == 0
    assert np.array_equal(bulk.in_table, by_rows.in_table)


def test_an_empty_model_reads_as_empty_arrays(session: Session) -> None:
    model_id = repo.save_cooccurrence_model(
        session, {"version": f"bulk-empty-{uuid.uuid4().hex}", "training_set_hash": "0" * 64,
                  "item_type": "artist"}, [])
    arrays = repo.cooccurrence_arrays(session, model_id)
    assert len(arrays.item_a) == len(arrays.pmi_score) == 0
    assert UuidPositions(_catalog()).of(arrays.item_a).tolist() == []
