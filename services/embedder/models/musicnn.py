"""The pretrained MSD_musicnn audio tagger (musicnn 0.1.0, ISC) re-implemented in NumPy.

Architecture (musicnn/models.py, `build_musicnn` with 64 mid-end filters, 200 back-end
units), for one (187 frames x 96 mel) patch, in TensorFlow's NHWC layout:

- front end: batch norm of the input, then five conv -> ReLU -> batch norm -> max over
  frequency blocks: two timbral ones (7x38 and 7x67 kernels, 204 filters, input zero-padded
  by 3 frames each side, "valid" convolution) and three temporal ones (128x1, 64x1, 32x1
  kernels, 51 filters, TensorFlow "same" padding). Concatenated: 187 x 561.
- mid end: three 7-frame convolutions over all 561 / 64 channels (64 filters, padded by 3
  frames, ReLU, batch norm), the 2nd and 3rd with residual connections. The front-end
  output and the three mid-end outputs are concatenated: 187 x 753.
- back end: max and mean over time, interleaved per channel (TensorFlow concatenates them on
  a trailing axis and flattens), batch norm, dense 200 + ReLU, batch norm (= "penultimate"),
  dense 50 (= logits), sigmoid (= taggram).

Batch norm runs in inference mode: y = (x - moving_mean) / sqrt(moving_variance + 1e-3) *
gamma + beta (epsilon is tf.compat.v1.layers' default), folded here into scale and shift.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import expit

from services.common.errors import InvalidArgument
from services.embedder.models.checkpoint import CheckpointError, TensorBundle
from services.embedder.models.frontend import MUSICNN_FRONTEND, LogMelFrontend

MODEL_NAME = "msd-musicnn"
SOURCE_MODEL = "musicnn"
SOURCE_VERSION = "0.1.0"
CHECKPOINT_NAME = "MSD_musicnn"
LICENSE = "ISC"
EMBEDDING_DIM = 200
N_FRAMES = 187
N_MELS = 96
MUSICNN_DIR_ENV = "JUKE_MUSICNN_DIR"
_BN_EPSILON = 1e-3

# musicnn/configuration.py MSD_LABELS, in the order of the model's 50 outputs.
MSD_TAGS: tuple[str, ...] = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
    "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s",
    "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic",
    "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country",
    "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock",
    "60s", "rnb", "indie pop", "sad", "House", "happy",
)  # fmt: skip


# --- locating the checkpoint ------------------------------------------------------------------


def default_checkpoint_dir(env: Mapping[str, str] | None = None) -> Path:
    """`$JUKE_MUSICNN_DIR` if set, else MSD_musicnn/ inside the installed `musicnn` package.

    The package is located with find_spec and never imported: importing it needs TensorFlow.
    """
    env = os.environ if env is None else env
    override = env.get(MUSICNN_DIR_ENV)
    if override:
        return Path(override)
    spec = importlib.util.find_spec("musicnn")
    if spec is None or not spec.submodule_search_locations:
        raise CheckpointError(
            f"the musicnn package is not installed and {MUSICNN_DIR_ENV} is not set: "
            "install musicnn==0.1.0 (with --no-deps) or point the variable at MSD_musicnn/"
        )
    return Path(next(iter(spec.submodule_search_locations))) / CHECKPOINT_NAME


def checkpoint_prefix(directory: Path) -> str:
    """musicnn saved its checkpoints with an empty file name: the files are `<dir>/.index` etc."""
    if not directory.is_dir():
        raise CheckpointError(f"musicnn checkpoint directory {str(directory)!r} does not exist")
    return str(directory) + os.sep


def files_sha256(paths: list[Path]) -> tuple[str, dict[str, str]]:
    """A digest over all files in order (each file's own digest, chained) plus per-file digests."""
    per_file: dict[str, str] = {}
    combined = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256")
        per_file[path.name] = digest.hexdigest()
        combined.update(f"{path.name}\0{digest.hexdigest()}\n".encode())
    return combined.hexdigest(), per_file


# --- weights ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Affine:
    """A batch norm in inference mode, folded to y = x * scale + shift (per channel)."""

    scale: np.ndarray
    shift: np.ndarray

    @classmethod
    def from_bundle(cls, bundle: TensorBundle, name: str) -> Affine:
        gamma = bundle.read(f"{name}/gamma").astype(np.float64)
        beta = bundle.read(f"{name}/beta").astype(np.float64)
        mean = bundle.read(f"{name}/moving_mean").astype(np.float64)
        variance = bundle.read(f"{name}/moving_variance").astype(np.float64)
        scale = gamma / np.sqrt(variance + _BN_EPSILON)
        return cls(scale.astype(np.float32), (beta - mean * scale).astype(np.float32))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x * self.scale + self.shift


@dataclass(frozen=True)
class ConvBlock:
    """conv (as an im2col matrix) + bias -> ReLU -> batch norm."""

    kernel: np.ndarray  # (window elements, filters), rows in the order our windows flatten
    bias: np.ndarray
    norm: Affine
    height: int  # frames the kernel spans
    width: int  # mel bands (front end) or channels (mid end) it spans

    def activate(self, conv: np.ndarray) -> np.ndarray:
        return self.norm(np.maximum(conv + self.bias, 0))


@dataclass(frozen=True)
class PooledConvBlock(ConvBlock):
    """A front-end block: conv + bias -> ReLU -> batch norm -> max over frequency.

    Everything after the convolution is a per-filter monotone map (non-decreasing, or
    non-increasing where the batch-norm scale is negative), and rounding keeps it monotone,
    so max over frequency can be taken first, on the raw convolution, exactly. Filters with a
    negative scale are stored negated (`sign` -1), which turns their needed min into a max.
    This avoids three passes over the largest tensors of the network.
    """

    sign: np.ndarray  # (filters,) +1 or -1

    def finish(self, conv_max: np.ndarray) -> np.ndarray:
        """The block's output from max over frequency of the (sign-flipped) convolution."""
        return self.activate(conv_max * self.sign)


def _kernel_matrix(bundle: TensorBundle, conv: str, *, channels_first: bool) -> np.ndarray:
    kernel = bundle.read(f"{conv}/kernel")  # TF layout (height, width, in=1, filters)
    height, width, in_channels, filters = kernel.shape
    if in_channels != 1:
        raise CheckpointError(f"{conv}/kernel has {in_channels} input channels, expected 1")
    kernel = kernel[:, :, 0, :]
    if channels_first:
        # sliding_window_view over time puts the 7-frame window axis after the channels.
        kernel = kernel.transpose(1, 0, 2)
    return np.ascontiguousarray(kernel.reshape(height * width, filters), dtype=np.float32)


def _conv_block(bundle: TensorBundle, conv: str, norm: str) -> ConvBlock:
    height, width = bundle.entries[f"{conv}/kernel"].shape[:2]
    return ConvBlock(
        kernel=_kernel_matrix(bundle, conv, channels_first=True),
        bias=bundle.read(f"{conv}/bias"),
        norm=Affine.from_bundle(bundle, norm),
        height=height,
        width=width,
    )


def _pooled_conv_block(bundle: TensorBundle, conv: str, norm: str) -> PooledConvBlock:
    height, width = bundle.entries[f"{conv}/kernel"].shape[:2]
    affine = Affine.from_bundle(bundle, norm)
    sign = np.where(affine.scale < 0, -1.0, 1.0).astype(np.float32)
    return PooledConvBlock(
        kernel=_kernel_matrix(bundle, conv, channels_first=False) * sign,
        bias=bundle.read(f"{conv}/bias"),
        norm=affine,
        height=height,
        width=width,
        sign=sign,
    )


@dataclass(frozen=True)
class Dense:
    kernel: np.ndarray  # (in, out)
    bias: np.ndarray

    @classmethod
    def from_bundle(cls, bundle: TensorBundle, name: str) -> Dense:
        return cls(bundle.read(f"{name}/kernel"), bundle.read(f"{name}/bias"))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x @ self.kernel + self.bias


@dataclass(frozen=True)
class MusicnnWeights:
    """The inference weights of build_musicnn, named by the order TF created the layers."""

    input_norm: Affine
    timbral: tuple[PooledConvBlock, PooledConvBlock]
    temporal: tuple[PooledConvBlock, PooledConvBlock, PooledConvBlock]
    midend: tuple[ConvBlock, ConvBlock, ConvBlock]
    pool_norm: Affine
    penultimate: Dense
    penultimate_norm: Affine
    output: Dense

    @classmethod
    def from_bundle(cls, bundle: TensorBundle) -> MusicnnWeights:
        # Layers are named by creation order: conv2d, conv2d_1, ...; batch_normalization is
        # the input's, so conv i is followed by batch_normalization_{i+1}.
        def conv(i: int) -> str:
            return "conv2d" if i == 0 else f"conv2d_{i}"

        def pooled(i: int) -> PooledConvBlock:
            return _pooled_conv_block(bundle, conv(i), f"batch_normalization_{i + 1}")

        def plain(i: int) -> ConvBlock:
            return _conv_block(bundle, conv(i), f"batch_normalization_{i + 1}")

        weights = cls(
            input_norm=Affine.from_bundle(bundle, "batch_normalization"),
            timbral=(pooled(0), pooled(1)),
            temporal=(pooled(2), pooled(3), pooled(4)),
            midend=(plain(5), plain(6), plain(7)),
            pool_norm=Affine.from_bundle(bundle, "batch_normalization_9"),
            penultimate=Dense.from_bundle(bundle, "dense"),
            penultimate_norm=Affine.from_bundle(bundle, "batch_normalization_10"),
            output=Dense.from_bundle(bundle, "dense_1"),
        )
        weights.check_shapes()
        return weights

    def check_shapes(self) -> None:
        expected = {
            "timbral[0]": (self.timbral[0].kernel.shape, (7 * 38, 204)),
            "timbral[1]": (self.timbral[1].kernel.shape, (7 * 67, 204)),
            "temporal[0]": (self.temporal[0].kernel.shape, (128, 51)),
            "temporal[1]": (self.temporal[1].kernel.shape, (64, 51)),
            "temporal[2]": (self.temporal[2].kernel.shape, (32, 51)),
            "midend[0]": (self.midend[0].kernel.shape, (7 * 561, 64)),
            "midend[1]": (self.midend[1].kernel.shape, (7 * 64, 64)),
            "midend[2]": (self.midend[2].kernel.shape, (7 * 64, 64)),
            "dense": (self.penultimate.kernel.shape, (1506, EMBEDDING_DIM)),
            "dense_1": (self.output.kernel.shape, (EMBEDDING_DIM, len(MSD_TAGS))),
        }
        for layer, (got, want) in expected.items():
            if got != want:
                raise CheckpointError(f"{layer} weights have shape {got}, MSD_musicnn needs {want}")


# --- forward pass -----------------------------------------------------------------------------


def _timbral(x_padded: np.ndarray, block: PooledConvBlock) -> np.ndarray:
    """Valid 2-D convolution over (time, mel) of the 3-frame-padded, normalised input."""
    batch = x_padded.shape[0]
    windows = sliding_window_view(x_padded, (block.height, block.width), axis=(1, 2))
    _, frames, bands, _, _ = windows.shape
    columns = windows.reshape(batch * frames * bands, block.height * block.width)
    conv = (columns @ block.kernel).reshape(batch, frames, bands, -1)
    return block.finish(conv.max(axis=2))


def _temporal(x: np.ndarray, block: PooledConvBlock) -> np.ndarray:
    """(k x 1) convolution along time with TF "same" padding: (k-1)//2 before, the rest after."""
    before = (block.height - 1) // 2
    after = block.height - 1 - before
    padded = np.pad(x, ((0, 0), (before, after), (0, 0)))
    batch, frames, bands = x.shape
    windows = sliding_window_view(padded, block.height, axis=1)  # (batch, frames, bands, k)
    columns = windows.reshape(batch * frames * bands, block.height)
    conv = (columns @ block.kernel).reshape(batch, frames, bands, -1)
    return block.finish(conv.max(axis=2))


def _midend_conv(features: np.ndarray, block: ConvBlock) -> np.ndarray:
    """7-frame convolution across all channels, zero-padded by 3 frames: (b, t, c) -> (b, t, 64)."""
    pad = (block.height - 1) // 2
    padded = np.pad(features, ((0, 0), (pad, pad), (0, 0)))
    batch, frames, channels = features.shape
    windows = sliding_window_view(padded, block.height, axis=1)  # (batch, frames, channels, 7)
    columns = windows.reshape(batch * frames, channels * block.height)
    return block.activate(columns @ block.kernel).reshape(batch, frames, -1)


@dataclass(frozen=True)
class MusicnnOutput:
    """Per-patch outputs, one row per 3 s patch."""

    taggram: np.ndarray  # (n, 50) sigmoid tag probabilities
    logits: np.ndarray  # (n, 50)
    penultimate: np.ndarray  # (n, 200) the embedding layer
    mean_pool: np.ndarray  # (n, 753) mean over time of the mid-end features
    max_pool: np.ndarray  # (n, 753)


def forward(weights: MusicnnWeights, patches: np.ndarray) -> MusicnnOutput:
    """Run the network on (n, 187, 96) float32 log-mel patches."""
    x = weights.input_norm(patches.astype(np.float32, copy=False))
    x_padded = np.pad(x, ((0, 0), (3, 3), (0, 0)))
    frontend = np.concatenate(
        [_timbral(x_padded, block) for block in weights.timbral]
        + [_temporal(x, block) for block in weights.temporal],
        axis=2,
    )
    conv1 = _midend_conv(frontend, weights.midend[0])
    res2 = _midend_conv(conv1, weights.midend[1]) + conv1
    res3 = _midend_conv(res2, weights.midend[2]) + res2
    features = np.concatenate([frontend, conv1, res2, res3], axis=2)  # (n, 187, 753)

    max_pool = features.max(axis=1)
    mean_pool = features.mean(axis=1, dtype=np.float32)
    pooled = np.stack([max_pool, mean_pool], axis=2).reshape(len(patches), -1)
    hidden = np.maximum(weights.penultimate(weights.pool_norm(pooled)), 0)
    penultimate = weights.penultimate_norm(hidden)
    logits = weights.output(penultimate)
    return MusicnnOutput(
        taggram=expit(logits).astype(np.float32),
        logits=logits.astype(np.float32),
        penultimate=penultimate.astype(np.float32),
        mean_pool=mean_pool,
        max_pool=max_pool,
    )


# --- the model as the embedder uses it --------------------------------------------------------


@dataclass(frozen=True)
class ModelInfo:
    """What an embedding must record about the model that produced it."""

    name: str
    source_model: str
    source_version: str
    checkpoint: str
    embedding_dim: int
    license: str
    weights_sha256: str
    weight_files_sha256: dict[str, str]
    frontend: dict[str, object]
    tags: tuple[str, ...] = field(default=MSD_TAGS)


@dataclass(frozen=True)
class TrackEmbedding:
    vector: np.ndarray  # (200,) float32 mean of the per-patch penultimate layer
    tags: list[tuple[str, float]]  # all 50 MSD tags with their mean probability, model order
    n_patches: int

    def top_tags(self, count: int) -> list[tuple[str, float]]:
        """The `count` most probable tags, most probable first."""
        return sorted(self.tags, key=lambda tag: tag[1], reverse=True)[:count]


class MusicnnModel:
    """MSD_musicnn, loaded from its TensorFlow checkpoint, run with NumPy."""

    def __init__(self, weights: MusicnnWeights, info: ModelInfo, *, batch_size: int = 2) -> None:
        if batch_size < 1:
            raise InvalidArgument(f"batch_size must be at least 1, got {batch_size}")
        self.weights = weights
        self.info = info
        self.frontend = LogMelFrontend(MUSICNN_FRONTEND)
        self.batch_size = batch_size

    @classmethod
    def from_checkpoint(
        cls, path: Path | str | None = None, *, verify_crc: bool = True, batch_size: int = 2
    ) -> MusicnnModel:
        """Load MSD_musicnn from `path` (the MSD_musicnn/ directory), or the default location."""
        directory = Path(path) if path is not None else default_checkpoint_dir()
        bundle = TensorBundle(checkpoint_prefix(directory), verify_crc=verify_crc)
        weights = MusicnnWeights.from_bundle(bundle)
        digest, per_file = files_sha256(bundle.files)
        info = ModelInfo(
            name=MODEL_NAME,
            source_model=SOURCE_MODEL,
            source_version=SOURCE_VERSION,
            checkpoint=CHECKPOINT_NAME,
            embedding_dim=EMBEDDING_DIM,
            license=LICENSE,
            weights_sha256=digest,
            weight_files_sha256=per_file,
            frontend=MUSICNN_FRONTEND.as_dict(),
        )
        return cls(weights, info, batch_size=batch_size)

    def embed_patches(self, patches: np.ndarray) -> MusicnnOutput:
        """Per-patch outputs for (n, 187, 96) log-mel patches, computed `batch_size` at a time."""
        patches = np.asarray(patches)
        if patches.ndim != 3 or patches.shape[1:] != (N_FRAMES, N_MELS):
            raise InvalidArgument(
                f"patches must have shape (n, {N_FRAMES}, {N_MELS}), got {patches.shape}"
            )
        if len(patches) == 0:
            raise InvalidArgument("no patches to embed")
        if not np.all(np.isfinite(patches)):
            raise InvalidArgument("patches contain NaN or infinite values")
        parts = [
            forward(self.weights, patches[start : start + self.batch_size])
            for start in range(0, len(patches), self.batch_size)
        ]
        names = [f.name for f in fields(MusicnnOutput)]
        return MusicnnOutput(**{n: np.concatenate([getattr(p, n) for p in parts]) for n in names})

    def patches(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """The model input for mono audio: (n, 187, 96) log-mel patches."""
        return self.frontend(samples, sample_rate)

    def embed_audio(self, samples: np.ndarray, sample_rate: int) -> TrackEmbedding:
        """Track-level embedding: per-patch penultimate activations and tags, mean-pooled."""
        output = self.embed_patches(self.patches(samples, sample_rate))
        vector = output.penultimate.mean(axis=0, dtype=np.float32)
        probabilities = output.taggram.mean(axis=0, dtype=np.float32)
        return TrackEmbedding(
            vector=vector,
            tags=[(tag, float(p)) for tag, p in zip(MSD_TAGS, probabilities, strict=True)],
            n_patches=len(output.taggram),
        )
