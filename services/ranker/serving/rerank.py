"""The learned second stage at serving time: its artifact, the active one, and how it
reranks a result.

A reranker artifact is one JSON document (written by `juke train-reranker` into the registry,
`ranker.reranker_model.artifact`, and to a file with --out for development): the LightGBM
model text, the item popularity it was trained with (id -> training listeners, the
`popularity` feature), how many first-stage candidates it reranks, and a description of its
training data. The model's version (`lambdamart-<hash>`, core/rerank.py) names it in every
explanation and bundle.

Which reranker serves is the registry's: the active `reranker` model, activated in
production only through its promotion. `ActiveRerankers` loads it when the bundle is
reloaded (in the activation watcher, off the request path) and keeps the parsed artifact
per model id, so a reload that finds the same model parses nothing.

Serving with a reranker: the hybrid computes its best `candidates` items at MMR lambda 1
(the reranker was trained on relevance-ordered candidates, and MMR after it would break the
exactness of its explanations), the reranker reorders them and keeps the requested number.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from services.common.errors import FailedPrecondition, InvalidArgument
from services.ranker.core.rerank import DEFAULT_CANDIDATES, Reranker
from services.ranker.store import rerankers as store

FORMAT = "juke-reranker-v1"


@dataclass(frozen=True)
class RerankerArtifact:
    reranker: Reranker
    listeners: Mapping[str, float]  # item id -> training listeners
    candidates: int = DEFAULT_CANDIDATES
    training: Mapping[str, Any] = field(default_factory=dict)  # what it was trained on

    @property
    def version(self) -> str:
        return self.reranker.version

    def to_json(self) -> str:
        return json.dumps({
            "format": FORMAT, "version": self.version, "candidates": self.candidates,
            "training": dict(self.training), "listeners": dict(self.listeners),
            "model": self.reranker.text})

    def write(self, path: Path) -> Path:
        """Write the artifact atomically (a reader never sees half a file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(self.to_json())
        partial.replace(path)
        return path

    @classmethod
    def read(cls, path: Path) -> RerankerArtifact:
        try:
            text = path.read_text()
        except OSError as error:
            raise FailedPrecondition(f"reranker artifact {path} cannot be read: {error}"
                                     ) from error
        return cls.from_json(text, str(path))

    @classmethod
    def from_json(cls, text: str, where: str) -> RerankerArtifact:
        """Parse an artifact; `where` names it in errors (a file, a registry model)."""
        try:
            body = json.loads(text)
        except ValueError as error:
            raise FailedPrecondition(f"reranker artifact {where} is not JSON: {error}"
                                     ) from error
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise FailedPrecondition(f"reranker artifact {where} is not in format {FORMAT}")
        try:
            reranker = Reranker.from_text(str(body["model"]))
            candidates = int(body["candidates"])
            listeners = {str(k): float(v) for k, v in dict(body["listeners"]).items()}
            training = dict(body.get("training", {}))
        except (KeyError, TypeError, ValueError, InvalidArgument) as error:
            raise FailedPrecondition(f"reranker artifact {where} is malformed: {error!r}"
                                     ) from error
        if reranker.version != body.get("version"):
            raise FailedPrecondition(f"reranker artifact {where}: the model is "
                                     f"{reranker.version}, the artifact says "
                                     f"{body.get('version')}")
        if candidates < 1:
            raise FailedPrecondition(f"reranker artifact {where}: candidates={candidates} "
                                     "must be >= 1")
        return cls(reranker, listeners, candidates, training)


@dataclass(frozen=True)
class ActiveReranker:
    """The registry's active reranker model, parsed."""

    model_id: uuid.UUID
    artifact: RerankerArtifact

    @property
    def version(self) -> str:
        return self.artifact.version


class ActiveRerankers:
    """The active reranker of a registry read, parsed once per model id."""

    def __init__(self) -> None:
        self._parsed: dict[uuid.UUID, ActiveReranker] = {}
        self._lock = threading.Lock()

    def active(self, session: Session) -> ActiveReranker | None:
        """The active model (None when none is); its artifact is read and parsed only the
        first time this model is seen. A stored artifact that does not parse is an error
        (the bundle reload fails and the previous bundle keeps serving)."""
        record = store.active_reranker_model(session)
        if record is None:
            return None
        with self._lock:
            found = self._parsed.get(record.id)
            if found is None:
                text = store.reranker_artifact(session, record.id)
                if text is None:  # deleted between the two reads: as if none were active
                    return None
                found = ActiveReranker(record.id, RerankerArtifact.from_json(
                    text, f"of reranker model {record.version} ({record.id})"))
                # Only the model serving now is worth keeping.
                self._parsed = {record.id: found}
            return found
