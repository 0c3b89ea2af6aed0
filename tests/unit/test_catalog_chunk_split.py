"""A catalog chunk too large for one gRPC message is halved, each relation with its owner."""

from __future__ import annotations

import pytest

from services.identity import servicer
from services.identity.export import CatalogChunk, halves


def _chunk(tags_per_artist: list[int]) -> CatalogChunk:
    chunk = CatalogChunk("artist", juke_ids=[f"id-{k}" for k in range(len(tags_per_artist))],
                         names=[f"artist {k}" for k in range(len(tags_per_artist))])
    for owner, count in enumerate(tags_per_artist):
        for n in range(count):
            chunk.tag_of.append(owner)
            chunk.tag_names.append(f"tag {owner}.{n} " + "x" * 40)
            chunk.tag_sources.append("internal")
            chunk.tag_weights.append(1.0 / (n + 1))
            chunk.tag_datasets.append("")
        chunk.genre_of.append(owner)
        chunk.genre_ids.append(f"genre-{owner}")
    return chunk


def _rows(chunk: CatalogChunk) -> list[tuple[str, str, list[tuple[str, float]], list[str]]]:
    return [(juke_id, chunk.names[k],
             [(chunk.tag_names[t], chunk.tag_weights[t])
              for t, of in enumerate(chunk.tag_of) if of == k],
             [chunk.genre_ids[g] for g, of in enumerate(chunk.genre_of) if of == k])
            for k, juke_id in enumerate(chunk.juke_ids)]


def test_halves_keep_every_relation_with_its_owner() -> None:
    chunk = _chunk([0, 7, 1, 0, 12, 3, 2])
    first, second = halves(chunk)
    assert len(first.juke_ids) == 3 and len(second.juke_ids) == 4
    assert _rows(first) + _rows(second) == _rows(chunk)


def _chunk_rows(message: object) -> list[str]:
    return list(message.chunk.juke_ids)  # type: ignore[attr-defined]


def test_an_oversized_chunk_is_sent_as_messages_under_the_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    chunk = _chunk([1, 30, 2, 0, 25, 4, 3, 1])
    monkeypatch.setattr(servicer, "MAX_CHUNK_BYTES", 1500)
    messages = list(servicer._fitting_messages(chunk))
    assert len(messages) > 1
    for m in messages:  # a single resource larger than the limit still goes, alone
        assert m.ByteSize() <= 1500 or len(m.chunk.juke_ids) == 1
    assert [i for m in messages for i in _chunk_rows(m)] == chunk.juke_ids
    tags = [(m.chunk.juke_ids[of], name) for m in messages
            for of, name in zip(m.chunk.tag_of, m.chunk.tag_names, strict=True)]
    assert tags == [(chunk.juke_ids[of], name)
                    for of, name in zip(chunk.tag_of, chunk.tag_names, strict=True)]


def test_a_chunk_under_the_limit_is_one_message() -> None:
    chunk = _chunk([1, 2, 3])
    assert len(list(servicer._fitting_messages(chunk))) == 1
