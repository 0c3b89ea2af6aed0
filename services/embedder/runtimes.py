"""The content models this deployment can run, with why one cannot.

A runtime turns one audio file into a track vector (+ optional tag probabilities). The
registry knows each built-in model's spec; availability is decided at start from the
weights actually present, never by falling back to another model silently.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from services.embedder.models.frontend import load_audio

log = logging.getLogger(__name__)

# Tags above this mean probability are stored as internal taxonomy tags.
DEFAULT_TAG_THRESHOLD = 0.2
OPENL3_HOP_S = 0.5


@dataclass(frozen=True)
class Embedded:
    vector: np.ndarray          # float32, the model's embedding_dim
    pooled_from: int            # frames / patches averaged into it
    tags: list[tuple[str, float]] = field(default_factory=list)


class Runtime(Protocol):
    def embed_file(self, path: Path) -> Embedded: ...


@dataclass(frozen=True)
class ModelSpec:
    name: str
    version: str
    source_model: str
    embedding_dim: int
    license: str
    weights_uri: str
    weights_sha256: str
    frontend: dict[str, Any]
    training_data: str = ""             # what the published weights were trained on
    training_data_license: str = ""     # that data's license; "" when none covers it

    def registry_values(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "source_model": self.source_model,
                "embedding_dim": self.embedding_dim, "weights_uri": self.weights_uri,
                "weights_sha256": self.weights_sha256, "weights_license": self.license,
                "frontend_params": json.loads(json.dumps(self.frontend, default=str)),
                "training_data": self.training_data,
                "training_data_license": self.training_data_license}


@dataclass
class BuiltinModel:
    spec: ModelSpec
    available: bool
    reason: str
    load: Callable[[], Runtime] | None = None
    _runtime: Runtime | None = None

    def runtime(self) -> Runtime:
        if not self.available or self.load is None:
            raise RuntimeError(f"{self.spec.name} is unavailable: {self.reason}")
        if self._runtime is None:
            self._runtime = self.load()
        return self._runtime


class MusicnnRuntime:
    def __init__(self, model: Any) -> None:
        self._model = model

    def embed_file(self, path: Path) -> Embedded:
        samples, rate = load_audio(path)
        out = self._model.embed_audio(samples, rate)
        return Embedded(np.asarray(out.vector, dtype=np.float32), out.n_patches, out.tags)


class OpenL3Runtime:
    def __init__(self, model: Any) -> None:
        self._model = model

    def embed_file(self, path: Path) -> Embedded:
        samples, rate = load_audio(path)
        frames = self._model.embed_audio(samples, rate, hop_s=OPENL3_HOP_S)
        return Embedded(frames.track_vector(), len(frames.embeddings))


# What the published weights were trained on, declared for governance (see the README).
MUSICNN_TRAINING_DATA = ("Million Song Dataset: 7digital audio previews with Last.fm tags "
                         "(the MSD_musicnn checkpoint's training set)")
MUSICNN_TRAINING_LICENSE = "LicenseRef-NonCommercial"  # Last.fm tags: non-commercial research
OPENL3_TRAINING_DATA = ("AudioSet music videos: YouTube audio clips (labels CC-BY-4.0; no "
                        "license covers the audio itself)")
OPENL3_TRAINING_LICENSE = ""  # none declared: the audio carries no license grant


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def musicnn_builtin(checkpoint_dir: Path | None) -> BuiltinModel:
    from services.embedder.models.musicnn import MusicnnModel, default_checkpoint_dir

    try:
        directory = checkpoint_dir or default_checkpoint_dir()
        model = MusicnnModel.from_checkpoint(directory)
    except Exception as err:  # missing wheel, corrupt checkpoint: say so, never fall back
        spec = ModelSpec("msd-musicnn", "0.1.0", "musicnn", 200, "ISC", "", "", {},
                         MUSICNN_TRAINING_DATA, MUSICNN_TRAINING_LICENSE)
        return BuiltinModel(spec, False, f"musicnn checkpoint unusable: {err}")
    info = model.info
    spec = ModelSpec(
        name=info.name, version=info.source_version, source_model=info.source_model,
        embedding_dim=info.embedding_dim, license=info.license,
        weights_uri=f"pypi:musicnn==0.1.0/{info.checkpoint} ({directory})",
        weights_sha256=info.weights_sha256, frontend=dict(info.frontend),
        training_data=MUSICNN_TRAINING_DATA, training_data_license=MUSICNN_TRAINING_LICENSE,
    )
    return BuiltinModel(spec, True, f"checkpoint {directory}",
                        load=lambda: MusicnnRuntime(model))


def openl3_builtin(weights: Path | None, input_repr: str = "mel256") -> BuiltinModel:
    from services.embedder.models.openl3 import OpenL3Model, openl3_availability

    availability = openl3_availability(weights, input_repr)
    usable = availability.available and weights is not None
    spec = ModelSpec(
        name=f"openl3-{input_repr}-music", version="0.4.0", source_model="openl3",
        embedding_dim=512, license="CC-BY-4.0", weights_uri=str(weights or ""),
        # governance identifies licensed bytes by sha256 (the blob ids check them on load)
        weights_sha256=_sha256(weights) if usable and weights else "",
        frontend={"input_repr": input_repr, "content_type": "music", "hop_s": OPENL3_HOP_S,
                  "sample_rate": 48000},
        training_data=OPENL3_TRAINING_DATA, training_data_license=OPENL3_TRAINING_LICENSE,
    )
    if not availability.available or weights is None:
        return BuiltinModel(spec, False, availability.reason)
    path = weights
    return BuiltinModel(spec, True, availability.reason,
                        load=lambda: OpenL3Runtime(OpenL3Model.from_weights(path, input_repr)))


def builtin_models(musicnn_dir: Path | None, openl3_weights: Path | None,
                   openl3_mel128_weights: Path | None = None) -> list[BuiltinModel]:
    """In order of preference for the default active model (OpenL3 is the locked choice)."""
    models = [openl3_builtin(openl3_weights, "mel256"),
              openl3_builtin(openl3_mel128_weights, "mel128"),
              musicnn_builtin(musicnn_dir)]
    for m in models:
        log.info("content model %s %s: %s", m.spec.name,
                 "available" if m.available else "UNAVAILABLE", m.reason)
    return models
