"""Audio embedding models of the embedder service, run with NumPy (no TensorFlow)."""

from services.embedder.models.checkpoint import CheckpointError, TensorBundle
from services.embedder.models.frontend import (
    MUSICNN_FRONTEND,
    FrontendParams,
    LogMelFrontend,
    load_audio,
)
from services.embedder.models.musicnn import (
    EMBEDDING_DIM,
    MSD_TAGS,
    MUSICNN_DIR_ENV,
    ModelInfo,
    MusicnnModel,
    MusicnnOutput,
    TrackEmbedding,
    default_checkpoint_dir,
)

__all__ = [
    "EMBEDDING_DIM",
    "MSD_TAGS",
    "MUSICNN_DIR_ENV",
    "MUSICNN_FRONTEND",
    "CheckpointError",
    "FrontendParams",
    "LogMelFrontend",
    "ModelInfo",
    "MusicnnModel",
    "MusicnnOutput",
    "TensorBundle",
    "TrackEmbedding",
    "default_checkpoint_dir",
    "load_audio",
]
