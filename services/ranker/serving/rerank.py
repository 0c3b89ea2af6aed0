"""The learned second stage at serving time: its artifact file and how it reranks a result.

A reranker artifact is one JSON file (written by `juke train-reranker`, read once by the
composition root from JUKE_RERANKER_PATH): the LightGBM model text, the item popularity it
was trained with (id -> training listeners, the `popularity` feature), how many first-stage
candidates it reranks, and a description of its training data. The model's version
(`lambdamart-<hash>`, core/rerank.py) names it in every explanation and bundle.

Serving with a reranker: the hybrid computes its best `candidates` items at MMR lambda 1
(the reranker was trained on relevance-ordered candidates, and MMR after it would break the
exactness of its explanations), the reranker reorders them and keeps the requested number.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.common.errors import FailedPrecondition, InvalidArgument
from services.ranker.core.rerank import DEFAULT_CANDIDATES, Reranker

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

    def write(self, path: Path) -> Path:
        """Write the artifact atomically (a reader never sees half a file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps({
            "format": FORMAT, "version": self.version, "candidates": self.candidates,
            "training": dict(self.training), "listeners": dict(self.listeners),
            "model": self.reranker.text}))
        partial.replace(path)
        return path

    @classmethod
    def read(cls, path: Path) -> RerankerArtifact:
        try:
            body = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise FailedPrecondition(f"reranker artifact {path} cannot be read: {error}"
                                     ) from error
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise FailedPrecondition(f"reranker artifact {path} is not in format {FORMAT}")
        try:
            reranker = Reranker.from_text(str(body["model"]))
            candidates = int(body["candidates"])
            listeners = {str(k): float(v) for k, v in dict(body["listeners"]).items()}
            training = dict(body.get("training", {}))
        except (KeyError, TypeError, ValueError, InvalidArgument) as error:
            raise FailedPrecondition(f"reranker artifact {path} is malformed: {error!r}"
                                     ) from error
        if reranker.version != body.get("version"):
            raise FailedPrecondition(f"reranker artifact {path}: the model is "
                                     f"{reranker.version}, the file says {body.get('version')}")
        if candidates < 1:
            raise FailedPrecondition(f"reranker artifact {path}: candidates={candidates} "
                                     "must be >= 1")
        return cls(reranker, listeners, candidates, training)
