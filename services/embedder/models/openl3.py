"""The OpenL3 audio embedding network (music content, mel256 / mel128) in NumPy.

Architecture (openl3 0.4.2, `_construct_mel{256,128}_audio_network`), per 1 s frame, on
the (n_mels x 199) decibel mel spectrogram of `kapre.py` as a one-channel NHWC image
(height = mel bands, width = STFT frames):

- BatchNormalization of the input;
- four blocks of two 3x3 Conv2D ("same" zero padding), each followed by BatchNormalization
  and ReLU; blocks 1-3 end in 2x2 max pooling (stride 2, "valid"); filters 64, 128, 256, 512;
- the last conv (`audio_embedding_layer`) has no batch norm and no ReLU: its output map is
  (32 x 24 x 512) for mel256, (16 x 24 x 512) for mel128;
- openl3 then max-pools it with pool (8, 8) / (4, 8), "same", to a (4, 3, 512) grid that
  Keras flattens (row, column, channel) to the 6144-d embedding; the 512-d one pools the
  whole map, which equals the maximum over that grid.

Inference batch norm is y = (x - mean) / sqrt(variance + 1e-3) * gamma + beta (tf.keras's
default epsilon); the ones after convolutions are folded into the kernels and biases at
load time. ReLU and a per-channel bias commute with max pooling, so blocks pool first and
add bias and ReLU to a quarter of the values.

Speed (the network is ~10 GMAC per frame as plain convolutions):
- the 3x3 convolutions with more than one input channel use Winograd's minimal filtering
  F(4x4, 3x3) (Lavin & Gray 2016): per 4x4 output tile, 36 products per channel pair
  instead of 144, as 36 batched matrix products (~5.2 GFLOP per mel256 frame); the
  transforms are exact algebra, done separably as small matrix products, so the result is
  the convolution up to float32 rounding (~1e-5 relative per layer);
- frames run in batches of `batch_frames`; with `workers` > 1, batches run side by side in
  threads with single-threaded BLAS, because the transforms and pooling are single-threaded
  NumPy; each worker thread keeps its activations and scratch arrays (~100 MB for mel256,
  2 frames per batch) between calls to avoid re-faulting fresh memory.

Track vector: the mean of the per-frame 512-d embeddings (what the embedder stores).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from services.common.errors import InvalidArgument
from services.common.files import sha256_file
from services.embedder.models.h5weights import (
    BatchNormParams,
    OpenL3AudioParams,
    WeightsError,
    identify_weights,
    read_openl3_params,
)
from services.embedder.models.kapre import (
    MEL_BANDS,
    KapreMelSpectrogram,
    KapreParams,
    frame_audio,
    hop_samples,
    kapre_params,
    prepare_audio,
)

OPENL3_WEIGHTS_ENV = "JUKE_OPENL3_WEIGHTS"
SOURCE_MODEL = "openl3"
SOURCE_VERSION = "0.4.2"
CONTENT_TYPE = "music"
LICENSE = "CC-BY-4.0"
EMBEDDING_DIM = 512
GRID_EMBEDDING_DIM = 6144
EMBEDDING_SIZES = (EMBEDDING_DIM, GRID_EMBEDDING_DIM)
# openl3 AUDIO_POOLING_SIZES[input_repr][6144]: pools the last map to a (4, 3) grid.
GRID_POOL = {"mel256": (8, 8), "mel128": (4, 8)}
FILTERS = (64, 64, 128, 128, 256, 256, 512, 512)
POOL_AFTER = (1, 3, 5)  # 2x2 max pooling after these convs (0-based)
_BN_EPSILON = 1e-3
DEFAULT_BATCH_FRAMES = 2
_WINOGRAD_BAND_BYTES = 6 << 20  # transformed tiles per band of tile rows


def default_workers() -> int:
    """One worker per available core, at most 4 (each holds a batch's activations)."""
    return max(1, min(4, len(os.sched_getaffinity(0))))


def model_name(input_repr: str) -> str:
    return f"openl3-{input_repr}-{CONTENT_TYPE}"


# --- Winograd F(4x4, 3x3) ---------------------------------------------------------------------

_BT = np.array(
    [
        [4, 0, -5, 0, 1, 0],
        [0, -4, -4, 1, 1, 0],
        [0, 4, -4, -1, 1, 0],
        [0, -2, -1, 2, 1, 0],
        [0, 2, -1, -2, 1, 0],
        [0, 4, 0, -5, 0, 1],
    ],
    dtype=np.float64,
)
_G = np.array(
    [
        [1 / 4, 0, 0],
        [-1 / 6, -1 / 6, -1 / 6],
        [-1 / 6, 1 / 6, -1 / 6],
        [1 / 24, 1 / 12, 1 / 6],
        [1 / 24, -1 / 12, 1 / 6],
        [0, 0, 1],
    ]
)
_AT = np.array(
    [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
    dtype=np.float64,
)
_BT32, _AT32 = _BT.astype(np.float32), _AT.astype(np.float32)
TILE = 4


def winograd_kernel(kernel: np.ndarray) -> np.ndarray:
    """(3, 3, in, out) correlation kernel -> (36, in, out) float32 U = G g G^T (computed in
    float64), flattened column-position-major (index 6 * nu + xi) like the input transform."""
    transformed = np.einsum("ai,ijco,bj->baco", _G, kernel.astype(np.float64), _G)
    return np.ascontiguousarray(transformed.reshape(36, *kernel.shape[2:]), dtype=np.float32)


class Workspace:
    """Scratch arrays kept between batches, per thread: re-allocating tens of MB per layer
    costs page faults. Zeroed buffers keep the zeros nobody writes (the conv padding)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _arrays(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = self._local.__dict__.setdefault("arrays", {})
        return arrays

    def scratch(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """An uninitialised float32 array of `shape`, reusing `name`'s memory when it fits."""
        arrays = self._arrays()
        size = int(np.prod(shape))
        found = arrays.get(name)
        if found is None or found.size < size:
            found = arrays[name] = np.empty(size, np.float32)
        return found[:size].reshape(shape)

    def padded(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A zero-initialised array of `shape`, reused (also for smaller batches, as a
        slice) while callers only ever write its interior, so its borders stay zero."""
        arrays = self._arrays()
        found = arrays.get(name)
        if found is None or found.shape[1:] != shape[1:] or found.shape[0] < shape[0]:
            found = arrays[name] = np.zeros(shape, np.float32)
        return found[: shape[0]]


def padded_shape(batch: int, height: int, width: int, channels: int) -> tuple[int, ...]:
    """A 'same' 3x3 conv input for 4x4 tiles: the image at [1:height+1, 1:width+1], zeros
    around it, and enough zero rows/columns after it that every tile's 6x6 window fits."""
    tiles_h, tiles_w = -(-height // TILE), -(-width // TILE)
    return (batch, TILE * tiles_h + 2, TILE * tiles_w + 2, channels)


# Receives (first tile row, (4, 4, batch, tile rows, tile columns, out) output tiles): axis
# 0 is the column within the tile, axis 1 the row (the order the transforms leave them in).
TileSink = Callable[[int, np.ndarray], None]


def winograd_conv(
    padded: np.ndarray, kernel: np.ndarray, sink: TileSink, workspace: Workspace
) -> None:
    """3x3 'same' correlation of the image inside `padded` (see `padded_shape`, C-contiguous)
    with a `winograd_kernel`, handed to `sink` a band of tile rows at a time (no bias).

    Per band: B^T along rows on whole padded rows (overlapping 6-row windows, one matrix
    product each), the 6 column phases gathered, B^T along columns, the 36 channel-mixing
    products, then A^T along rows and along columns. Each transform is a matrix product with
    a 6-long inner dimension over contiguous data."""
    batch, padded_h, padded_w, channels = padded.shape
    tiles_h, tiles_w = (padded_h - 2) // TILE, (padded_w - 2) // TILE
    out_channels = kernel.shape[2]
    row_bytes = 36 * batch * tiles_w * max(channels, out_channels) * 4
    rows_per_band = max(1, min(tiles_h, _WINOGRAD_BAND_BYTES // row_bytes))
    row_stride = padded.strides[1]
    for first in range(0, tiles_h, rows_per_band):
        rows = min(rows_per_band, tiles_h - first)
        tiles = batch * rows * tiles_w
        windows = as_strided(
            padded[:, TILE * first :],
            (batch, rows, 6, padded_w * channels),
            (padded.strides[0], TILE * row_stride, row_stride, 4),
            writeable=False,
        )
        by_rows = workspace.scratch("rows", (batch, rows, 6, padded_w * channels))
        np.matmul(_BT32, windows, out=by_rows)
        by_rows_5d = by_rows.reshape(batch, rows, 6, padded_w, channels)
        phases = workspace.scratch("phases", (6, 6, batch, rows, tiles_w, channels))
        for j in range(6):  # column phase j of every tile, row transform index first
            phases[j] = by_rows_5d[:, :, :, j : j + TILE * tiles_w : TILE].transpose(2, 0, 1, 3, 4)
        transformed = workspace.scratch("transformed", (36, tiles, channels))
        np.matmul(_BT32, phases.reshape(6, -1), out=transformed.reshape(6, -1))
        products = workspace.scratch("products", (36, tiles, out_channels))
        np.matmul(transformed, kernel, out=products)
        half = workspace.scratch("half", (6, 4, tiles * out_channels))
        np.matmul(_AT32, products.reshape(6, 6, -1), out=half)
        outputs = workspace.scratch("outputs", (4, 4 * tiles * out_channels))
        np.matmul(_AT32, half.reshape(6, -1), out=outputs)
        sink(first, outputs.reshape(TILE, TILE, batch, rows, tiles_w, out_channels))


def _untile(tiles: np.ndarray) -> np.ndarray:
    """(b, a, batch, rows, cols, c) tiles (b columns, a rows each) -> (batch, rows * a,
    cols * b, c) image."""
    b, a, batch, rows, cols, channels = tiles.shape
    return tiles.transpose(2, 3, 1, 4, 0, 5).reshape(batch, rows * a, cols * b, channels)


# --- the network ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FoldedConv:
    """A 3x3 conv with the batch norm that follows it folded in: conv(x, kernel) + bias."""

    kernel: np.ndarray  # (3, 3, in, out) float32
    bias: np.ndarray  # (out,) float32
    winograd: np.ndarray  # (36, in, out) float32

    @classmethod
    def fold(cls, kernel: np.ndarray, bias: np.ndarray, norm: BatchNormParams | None) -> FoldedConv:
        kernel64, bias64 = kernel.astype(np.float64), bias.astype(np.float64)
        if norm is not None:
            scale, shift = _norm_affine(norm)
            kernel64, bias64 = kernel64 * scale, bias64 * scale + shift
        return cls(
            kernel=kernel64.astype(np.float32),
            bias=bias64.astype(np.float32),
            winograd=winograd_kernel(kernel64),
        )

    @property
    def out_channels(self) -> int:
        return int(self.kernel.shape[3])


def _norm_affine(norm: BatchNormParams) -> tuple[np.ndarray, np.ndarray]:
    """Inference batch norm as y = x * scale + shift (float64)."""
    scale = norm.gamma.astype(np.float64) / np.sqrt(
        norm.moving_variance.astype(np.float64) + _BN_EPSILON
    )
    return scale, norm.beta.astype(np.float64) - norm.moving_mean.astype(np.float64) * scale


class OpenL3Network:
    """The conv stack from decibel mel spectrograms to the (4, 3, channels) max grid."""

    def __init__(self, params: OpenL3AudioParams, input_repr: str) -> None:
        if input_repr not in GRID_POOL:
            raise InvalidArgument(
                f"input_repr must be one of {sorted(GRID_POOL)}, got {input_repr!r}"
            )
        self.input_repr = input_repr
        self.n_mels = MEL_BANDS[input_repr]
        scale, shift = _norm_affine(params.input_norm)
        self.input_scale, self.input_shift = np.float32(scale[0]), np.float32(shift[0])
        norms: list[BatchNormParams | None] = [*params.norms, None]
        self.convs = tuple(
            FoldedConv.fold(conv.kernel, conv.bias, norm)
            for conv, norm in zip(params.convs, norms, strict=True)
        )
        self.workspace = Workspace()

    @property
    def channels(self) -> int:
        return self.convs[-1].out_channels

    def grid(self, spectrograms: np.ndarray) -> np.ndarray:
        """(n, n_mels, frames) decibel spectrograms -> (n, 4, 3, channels) pooled maps."""
        batch, height, width = spectrograms.shape
        first = self.convs[0]
        padded = self.workspace.padded(
            "conv1", padded_shape(batch, height, width, first.out_channels)
        )
        _first_conv(spectrograms * self.input_scale + self.input_shift, first, padded, width)
        for index in range(1, len(self.convs) - 1):
            conv = self.convs[index]
            if index in POOL_AFTER:
                height, width = height // 2, width // 2
            shape = padded_shape(batch, height, width, conv.out_channels)
            target = self.workspace.padded(f"conv{index + 1}", shape)
            interior = target[:, 1 : height + 1, 1 : width + 1]
            sink = _pool_relu_sink if index in POOL_AFTER else _relu_sink
            winograd_conv(padded, conv.winograd, sink(conv.bias, interior), self.workspace)
            padded = target
        last = self.convs[-1]
        out = self.workspace.scratch("last", (batch, height, width, last.out_channels))
        winograd_conv(padded, last.winograd, _linear_sink(last.bias, out), self.workspace)
        return max_pool_same(out, GRID_POOL[self.input_repr])


def _first_conv(x: np.ndarray, conv: FoldedConv, padded: np.ndarray, width: int) -> None:
    """The one-input-channel conv, + bias, ReLU, written into the interior of `padded`.

    Computed as a (positions, 9 taps + 1) x (10, filters) product (the last row is the
    bias) for every column of the padded rows, straight into `padded`, whose padding
    columns are zeroed again afterwards."""
    batch, height, _ = x.shape
    padded_w = padded.shape[2]
    # padded column c holds image column c - 1, whose window spans image columns c - 2 .. c
    source = np.zeros((batch, height + 2, padded_w + 2), np.float32)
    source[:, 1 : height + 1, 2 : width + 2] = x
    weights = np.concatenate([conv.kernel.reshape(9, -1), conv.bias[None, :]])
    columns = np.empty((height, padded_w, 10), np.float32)
    columns[:, :, 9] = 1.0
    for n in range(batch):
        for tap in range(9):
            dy, dx = divmod(tap, 3)
            columns[:, :, tap] = source[n, dy : dy + height, dx : dx + padded_w]
        rows = padded[n, 1 : height + 1]
        np.matmul(columns.reshape(-1, 10), weights, out=rows.reshape(-1, rows.shape[-1]))
        np.maximum(rows, 0, out=rows)
        rows[:, 0] = 0.0
        rows[:, width + 1 :] = 0.0


def _relu_sink(bias: np.ndarray, out: np.ndarray) -> TileSink:
    """Writes bias + ReLU of the tiles into `out` (batch, height, width, c), cropping."""
    height = out.shape[1]

    def sink(first: int, tiles: np.ndarray) -> None:
        tiles += bias
        np.maximum(tiles, 0, out=tiles)
        image = _untile(tiles)
        top = TILE * first
        rows = min(image.shape[1], height - top)
        out[:, top : top + rows] = image[:, :rows, : out.shape[2]]

    return sink


def _pool_relu_sink(bias: np.ndarray, out: np.ndarray) -> TileSink:
    """2x2 max pooling (stride 2, 'valid'), then bias + ReLU, into `out` (pooled size).

    Tiles start at even rows and columns, so each pooling window lies inside one tile."""
    height = out.shape[1]

    def sink(first: int, tiles: np.ndarray) -> None:
        column_pairs = np.maximum(tiles[0::2], tiles[1::2])  # (2, 4, ...)
        pooled = np.maximum(column_pairs[:, 0::2], column_pairs[:, 1::2])  # (2, 2, ...)
        pooled += bias
        np.maximum(pooled, 0, out=pooled)
        image = _untile(pooled)
        top = 2 * first
        rows = min(image.shape[1], height - top)
        out[:, top : top + rows] = image[:, :rows, : out.shape[2]]

    return sink


def _linear_sink(bias: np.ndarray, out: np.ndarray) -> TileSink:
    """Writes tiles + bias into `out` (batch, height, width, c), cropping (the last conv)."""
    height = out.shape[1]

    def sink(first: int, tiles: np.ndarray) -> None:
        image = _untile(tiles)
        top = TILE * first
        rows = min(image.shape[1], height - top)
        np.add(image[:, :rows, : out.shape[2]], bias, out=out[:, top : top + rows])

    return sink


def max_pool_same(x: np.ndarray, pool: tuple[int, int]) -> np.ndarray:
    """Keras MaxPooling2D(pool, strides=pool, padding='same') of (n, h, w, c)."""
    batch, height, width, channels = x.shape
    out_h, out_w = -(-height // pool[0]), -(-width // pool[1])
    pad_h, pad_w = out_h * pool[0] - height, out_w * pool[1] - width
    if pad_h or pad_w:  # TensorFlow pads the smaller half before
        x = np.pad(
            x,
            ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)),
            constant_values=-np.inf,
        )
    blocks = x.reshape(batch, out_h, pool[0], out_w, pool[1], channels)
    return blocks.max(axis=(2, 4))


# --- availability -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Availability:
    available: bool
    reason: str


def weights_path_from_env(env: Mapping[str, str] | None = None) -> Path | None:
    """`$JUKE_OPENL3_WEIGHTS` as a path, or None when unset or empty."""
    env = os.environ if env is None else env
    value = env.get(OPENL3_WEIGHTS_ENV, "")
    return Path(value) if value else None


def openl3_availability(weights_path: Path | None, input_repr: str = "mel256") -> Availability:
    """Whether OpenL3 `input_repr` can run with the weights at `weights_path`, and why (not)."""
    if input_repr not in GRID_POOL:
        return Availability(False, f"OpenL3 has no input representation {input_repr!r}")
    if weights_path is None:
        return Availability(False, f"OpenL3 weights not available ({OPENL3_WEIGHTS_ENV} unset)")
    if not weights_path.is_file():
        return Availability(
            False,
            f"OpenL3 weights not available ({OPENL3_WEIGHTS_ENV}={str(weights_path)!r} "
            "is not a file)",
        )
    if importlib.util.find_spec("h5py") is None:
        return Availability(False, "OpenL3 weights cannot be read: h5py is not installed")
    try:
        known = identify_weights(weights_path, input_repr)
    except WeightsError as exc:
        return Availability(False, f"OpenL3 weights not usable: {exc.message}")
    return Availability(
        True, f"verified {known.file_name} (git blob id {known.blob_id}) at {str(weights_path)!r}"
    )


# --- the model as the embedder uses it --------------------------------------------------------


@dataclass(frozen=True)
class OpenL3ModelInfo:
    """What an embedding must record about the model that produced it."""

    name: str
    source_model: str
    source_version: str
    input_repr: str
    content_type: str
    embedding_dim: int
    license: str
    weights_file: str
    weights_sha256: str
    weights_blob_id: str | None  # git blob id, when the file was verified against the known ids
    frontend: dict[str, object]
    track_pooling: str = "mean of the per-frame 512-d embeddings"
    skipped_layers: tuple[str, ...] = field(default=())


class OpenL3Embeddings(NamedTuple):
    """Per-frame embeddings and the time (s) of each frame's centre (start if not centred)."""

    embeddings: np.ndarray  # (n, 512) or (n, 6144) float32
    timestamps: np.ndarray  # (n,) float64 seconds

    def track_vector(self) -> np.ndarray:
        """The track-level vector: mean over frames."""
        return self.embeddings.mean(axis=0, dtype=np.float32)


class OpenL3Model:
    """OpenL3 audio (music) with its kapre front end, from the original Keras weights."""

    def __init__(
        self,
        network: OpenL3Network,
        info: OpenL3ModelInfo,
        *,
        batch_frames: int = DEFAULT_BATCH_FRAMES,
        workers: int | None = None,
    ) -> None:
        if batch_frames < 1:
            raise InvalidArgument(f"batch_frames must be at least 1, got {batch_frames}")
        workers = default_workers() if workers is None else workers
        if workers < 1:
            raise InvalidArgument(f"workers must be at least 1, got {workers}")
        self.network = network
        self.info = info
        self.frontend_params: KapreParams = kapre_params(network.input_repr)
        self.frontend = KapreMelSpectrogram(self.frontend_params)
        self.batch_frames = batch_frames
        self.workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    @classmethod
    def from_weights(
        cls,
        path: Path | str,
        input_repr: str = "mel256",
        *,
        verify: bool = True,
        batch_frames: int = DEFAULT_BATCH_FRAMES,
        workers: int | None = None,
    ) -> OpenL3Model:
        """Load the Keras weights at `path` (.h5.gz as distributed, or .h5 with verify=False).

        With `verify`, the file must be the distributed weights for `input_repr` (git blob
        id); without, any file with the network's layer structure loads (test fixtures)."""
        path = Path(path)
        kapre_params(input_repr)  # validates input_repr
        blob_id = identify_weights(path, input_repr).blob_id if verify else None
        params = read_openl3_params(path)
        network = OpenL3Network(params, input_repr)
        info = OpenL3ModelInfo(
            name=model_name(input_repr),
            source_model=SOURCE_MODEL,
            source_version=SOURCE_VERSION,
            input_repr=input_repr,
            content_type=CONTENT_TYPE,
            embedding_dim=network.channels,
            license=LICENSE,
            weights_file=path.name,
            weights_sha256=sha256_file(path),
            weights_blob_id=blob_id,
            frontend=kapre_params(input_repr).as_dict(),
            skipped_layers=params.frontend_layers,
        )
        return cls(network, info, batch_frames=batch_frames, workers=workers)

    @classmethod
    def from_env(
        cls, input_repr: str = "mel256", env: Mapping[str, str] | None = None
    ) -> OpenL3Model:
        """The verified model at $JUKE_OPENL3_WEIGHTS; WeightsError with the reason if not."""
        path = weights_path_from_env(env)
        availability = openl3_availability(path, input_repr)
        if not availability.available or path is None:
            raise WeightsError(availability.reason)
        return cls.from_weights(path, input_repr)

    def spectrograms(
        self, samples: np.ndarray, sample_rate: int, hop_s: float = 0.5, center: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """The network input for decoded audio: (n, n_mels, 199) float32, and timestamps."""
        frames, timestamps = self._frames(samples, sample_rate, hop_s, center)
        return self.frontend(frames), timestamps

    def embed_spectrograms(
        self, spectrograms: np.ndarray, embedding_size: int | None = None
    ) -> np.ndarray:
        """(n, n_mels, 199) decibel spectrograms -> (n, embedding_size) float32; the default
        size is the pooled one (512 with the real weights), the other the (4, 3) grid's."""
        spectrograms = np.asarray(spectrograms, dtype=np.float32)
        expected = (self.frontend_params.n_mels, self.frontend_params.stft_frames)
        if spectrograms.ndim != 3 or spectrograms.shape[1:] != expected:
            raise InvalidArgument(
                f"spectrograms must have shape (n, {expected[0]}, {expected[1]}), "
                f"got {spectrograms.shape}"
            )
        size = self._check_size(embedding_size)

        def embed(batch: slice) -> np.ndarray:
            return _flatten(self.network.grid(spectrograms[batch]), size)

        return self._map_batches(len(spectrograms), size, embed)

    def embed_audio(
        self,
        samples: np.ndarray,
        sample_rate: int,
        hop_s: float = 0.5,
        center: bool = True,
        embedding_size: int | None = None,
    ) -> OpenL3Embeddings:
        """Embeddings of 1 s frames `hop_s` apart of decoded audio ((n,) or (n, channels) floats
        at any rate), as openl3's `get_audio_embedding` frames them. The default size is the
        512-d pooled embedding; 6144 gives the (4, 3) grid. `.track_vector()` of the result is
        the mean over frames."""
        size = self._check_size(embedding_size)
        frames, timestamps = self._frames(samples, sample_rate, hop_s, center)

        def embed(batch: slice) -> np.ndarray:
            return _flatten(self.network.grid(self.frontend(frames[batch])), size)

        return OpenL3Embeddings(self._map_batches(len(frames), size, embed), timestamps)

    def _map_batches(
        self, count: int, size: int, embed: Callable[[slice], np.ndarray]
    ) -> np.ndarray:
        """Runs `embed` on consecutive batches of `batch_frames` frames, `workers` at a time.

        With several workers, each runs whole batches with single-threaded BLAS (set for
        the whole process while this runs): the network's transforms and pooling are
        single-threaded NumPy, so two batches side by side keep both cores busy, where one
        batch with two BLAS threads leaves one idle between matrix products."""
        batches = [
            slice(start, start + self.batch_frames) for start in range(0, count, self.batch_frames)
        ]
        out = np.empty((count, size), np.float32)
        if self.workers == 1 or len(batches) == 1:
            for batch in batches:
                out[batch] = embed(batch)
            return out
        from threadpoolctl import threadpool_limits

        def work(batch: slice) -> None:
            out[batch] = embed(batch)

        with threadpool_limits(limits=1, user_api="blas"):
            list(self._executor().map(work, batches))
        return out

    def close(self) -> None:
        """Stops the worker threads (freeing what they keep); the model stays usable."""
        with self._executor_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def _executor(self) -> ThreadPoolExecutor:
        """The worker threads, kept: each keeps its scratch arrays between calls."""
        with self._executor_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="openl3")
            return self._pool

    def _frames(
        self, samples: np.ndarray, sample_rate: int, hop_s: float, center: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(center, bool):
            raise InvalidArgument(f"center must be True or False, got {center!r}")
        hop = hop_samples(hop_s)
        frames = frame_audio(prepare_audio(samples, sample_rate), hop, center)
        return frames, np.arange(len(frames)) * float(hop_s)

    def _check_size(self, embedding_size: int | None) -> int:
        sizes = (self.network.channels, 12 * self.network.channels)
        if embedding_size is None:
            return self.network.channels
        if embedding_size not in sizes:
            raise InvalidArgument(f"embedding_size must be one of {sizes}, got {embedding_size!r}")
        return int(embedding_size)


def _flatten(grid: np.ndarray, size: int) -> np.ndarray:
    """(n, 4, 3, c) grid -> (n, 12 c) as Keras flattens it, or (n, c) maxima over the grid."""
    if size == grid.shape[1] * grid.shape[2] * grid.shape[3]:
        return grid.reshape(len(grid), -1)
    return grid.max(axis=(1, 2))
