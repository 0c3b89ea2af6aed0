"""The dataclasses that cross the workflow/activity boundary (one in, one out each)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ResolveModelInput:
    model_ref: str


@dataclass
class ResolvedModel:
    model_id: str
    name: str
    version: str
    embedding_dim: int


@dataclass
class BatchItem:
    entry_id: str
    track_id: str
    source: str
    track_path: str
    checksum: str


@dataclass
class NextBatchInput:
    model_id: str
    environment: str
    page_token: str
    batch_size: int


@dataclass
class Batch:
    items: list[BatchItem] = field(default_factory=list)
    next_page_token: str = ""
    scanned: int = 0


@dataclass
class EmbedBatchInput:
    model_id: str
    environment: str
    items: list[BatchItem]


@dataclass
class BatchOutcome:
    embedded: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)   # "<track_path>: <reason>"


@dataclass
class FinishInput:
    model_id: str


@dataclass
class FinishOutcome:
    index_lists: int
    albums: int
    artists: int
    artifact_hash: str = ""    # empty when the model has no track vectors to export
