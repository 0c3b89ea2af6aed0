"""OpenL3's network wiring and weight loading, with stand-in weights (a test fixture).

The real weights are not on our machines, so a small seeded random weight set with the
exact Keras layer structure of openl3's audio network (fewer filters per layer) is written
as a Keras `save_weights` HDF5 file, loaded through the product's loader, and the fast
forward pass (Winograd convolutions, folded batch norms, pooling before ReLU) is compared
with a plain float64 reference: batch norms as written, scipy's correlate2d per channel
pair, pooling by explicit windows, Keras' flatten order.

Tolerances: the reference also carries the rounding scale S of the product's float32
evaluation (tests/unit/rounding.py: first order, derived layer by layer from the actual
operands, including the Winograd transforms' own roundings), and values are compared within
LAMBDA u sqrt(S), or sqrt(2 S) between two float32 evaluations with different batch shapes.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import correlate2d
from threadpoolctl import threadpool_limits

from services.common.errors import InvalidArgument
from services.embedder.models.frontend import to_mono
from services.embedder.models.h5weights import WeightsError
from services.embedder.models.kapre import frame_audio, hop_samples, prepare_audio, sinc_resampler
from services.embedder.models.openl3 import _AT, _BT, _G, OpenL3Embeddings, OpenL3Model
from tests.unit.rounding import (
    assert_within,
    gamma,
    likely_bound,
    max_with_scale,
    relu_scale,
)

TINY_FILTERS = (3, 3, 4, 4, 5, 5, 6, 6)
GRID_POOL = {"mel256": (8, 8), "mel128": (4, 8)}
TILE = 4  # Winograd output tile
N_MELS = {"mel256": 256, "mel128": 128}

Layer = tuple[str, dict[str, np.ndarray]]  # Keras layer name, {variable name: value}


def standin_layers(filters: tuple[int, ...], seed: int) -> list[Layer]:
    """Seeded random weights in the order and naming of openl3's Keras audio model."""
    rng = np.random.default_rng(seed)

    def batch_norm(name: str, channels: int) -> Layer:
        return name, {
            "gamma": rng.uniform(0.5, 1.5, channels),
            "beta": rng.normal(0.0, 0.2, channels),
            "moving_mean": rng.normal(0.0, 0.3, channels),
            "moving_variance": rng.uniform(0.5, 2.0, channels),
        }

    layers = [batch_norm("batch_normalization_1", 1)]
    channels = 1
    for index, count in enumerate(filters, start=1):
        name = "audio_embedding_layer" if index == len(filters) else f"conv2d_{index}"
        fan_in = 9 * channels
        kernel = rng.normal(0.0, np.sqrt(2.0 / fan_in), (3, 3, channels, count))
        layers.append((name, {"kernel": kernel, "bias": rng.normal(0.0, 0.1, count)}))
        if index < len(filters):
            layers.append(batch_norm(f"batch_normalization_{index + 1}", count))
        channels = count
    return layers


def write_keras_weights(
    path: Path, layers: list[Layer], *, whole_model: bool = False, weightless: bool = True
) -> Path:
    """A Keras HDF5 weights file: `layer_names`, per-layer `weight_names`, float32 datasets
    at "<layer>/<variable>:0" inside each layer's group (under model_weights/ for a whole
    model save). Weightless layers (activations, pooling) are listed like Keras lists them."""
    with h5py.File(path, "w") as handle:
        root = handle.create_group("model_weights") if whole_model else handle
        names = []
        if weightless:
            names.append("input_1")
            root.create_group("input_1").attrs["weight_names"] = np.array([], dtype="S1")
        for layer_name, weights in layers:
            group = root.create_group(layer_name)
            weight_names = [f"{layer_name}/{variable}:0" for variable in weights]
            group.attrs["weight_names"] = np.array([n.encode() for n in weight_names])
            for weight_name, value in zip(weight_names, weights.values(), strict=True):
                group.create_dataset(weight_name, data=np.asarray(value, dtype=np.float32))
            names.append(layer_name)
            if weightless and layer_name.startswith("conv2d"):
                activation = f"activation_{layer_name.rsplit('_', 1)[-1]}"
                root.create_group(activation).attrs["weight_names"] = np.array([], dtype="S1")
                names.append(activation)
        root.attrs["layer_names"] = np.array([name.encode() for name in names])
        root.attrs["backend"] = b"tensorflow"
        root.attrs["keras_version"] = b"2.2.4"
    return path


# --- the plain reference ----------------------------------------------------------------------


def reference_grid(
    layers: list[Layer], spectrogram: np.ndarray, input_repr: str
) -> tuple[np.ndarray, np.ndarray]:
    """(4, 3, c) max grid of one (n_mels, 199) spectrogram, computed the plain way, and the
    rounding scale S (units of u^2, see tests/unit/rounding.py) of each of its values in the
    product's float32 evaluation: folded batch norms, a direct first conv, Winograd after."""
    # the weights as the file stores them (float32), in float64
    weights = {
        name: {key: value.astype(np.float32).astype(np.float64) for key, value in group.items()}
        for name, group in layers
    }

    def affine(name: str) -> tuple[np.ndarray, np.ndarray]:
        w = weights[name]
        scale = w["gamma"] / np.sqrt(w["moving_variance"] + 1e-3)
        return scale, w["beta"] - w["moving_mean"] * scale

    def batch_norm(name: str, x: np.ndarray) -> np.ndarray:
        w = weights[name]
        normalised = (x - w["moving_mean"]) / np.sqrt(w["moving_variance"] + 1e-3)
        return normalised * w["gamma"] + w["beta"]

    spectrogram64 = spectrogram.astype(np.float64)[:, :, None]
    x = batch_norm("batch_normalization_1", spectrogram64)
    # x * scale + shift with both rounded to float32: 4 roundings, each within |x scale| + |shift|
    in_scale, in_shift = affine("batch_normalization_1")
    scale = 4 * (np.abs(spectrogram64 * in_scale) + np.abs(in_shift)) ** 2
    conv_names = [name for name, _ in layers if "conv" in name or "embedding" in name]
    for index, name in enumerate(conv_names):
        kernel, bias = weights[name]["kernel"], weights[name]["bias"]
        y = correlate(x, kernel) + bias
        last = index == len(conv_names) - 1
        if not last:
            y = batch_norm(f"batch_normalization_{index + 2}", y)
            norm_scale, norm_shift = affine(f"batch_normalization_{index + 2}")
            kernel, bias = kernel * norm_scale, bias * norm_scale + norm_shift  # as folded
        propagated = correlate(scale, kernel * kernel)  # errors already in x
        if index == 0:
            # one (positions, 9 taps + bias) x (10, filters) product: 10 terms (11 M^2),
            # weights rounded to float32 once (M^2)
            magnitude = correlate(np.abs(x), np.abs(kernel)) + np.abs(bias)
            scale = propagated + 12 * magnitude**2
        else:
            scale = propagated + winograd_scale(x, kernel, bias)
        if not last:
            scale = relu_scale(y, scale)
            y = np.maximum(y, 0.0)
        if index in (1, 3, 5):
            y, scale = max_pool_with_scale(y, scale, (2, 2))
        x = y
    return max_pool_with_scale(x, scale, GRID_POOL[input_repr])


def correlate(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """3x3 "same" correlation of (h, w, in) with (3, 3, in, out), per channel pair."""
    height, width, in_channels = x.shape
    y = np.zeros((height, width, kernel.shape[3]))
    for out_channel in range(kernel.shape[3]):
        for in_channel in range(in_channels):
            y[:, :, out_channel] += correlate2d(
                x[:, :, in_channel], kernel[:, :, in_channel, out_channel], mode="same"
            )
    return y


def max_pool_with_scale(
    x: np.ndarray, scale: np.ndarray, pool: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Max over windows of `pool`, stride `pool`, trailing rows/columns that fill no window
    dropped (the final grid pools divide the map exactly, so 'same' and 'valid' agree there),
    and the rounding scale of each maximum (tests/unit/rounding.py)."""
    rows, cols = x.shape[0] // pool[0], x.shape[1] // pool[1]

    def windows(a: np.ndarray) -> np.ndarray:
        cropped = a[: rows * pool[0], : cols * pool[1]]
        return cropped.reshape(rows, pool[0], cols, pool[1], a.shape[2])

    return max_with_scale(windows(x), windows(scale), axis=(1, 3))


def winograd_scale(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Rounding scale (units of u^2) of the product's F(4x4, 3x3) Winograd convolution of x
    (h, w, in) with a folded (3, 3, in, out) kernel, plus bias, from its own roundings.

    Per 4x4 output tile, from the 6x6 input window d, in the product's order: V1 = B^T d
    (along rows), V = V1 B, per channel; P = sum over channels of U (.) V, U = G g G^T
    rounded to float32; A^T along rows, then along columns: Y = A^T P A; + bias.
    Each stage is a short dot product (6 terms, or one per input channel), so each of its
    values carries at most n + 1 roundings of quantities bounded by the same stage computed
    on absolute values (a_k below); each reaches output (i, j) through the rest of the chain,
    a fixed linear map whose coefficient is squared: S = sum over stages and values of
    (n + 1) a_k^2 coefficient^2, plus 2 (|y| + |bias|)^2 for adding the rounded bias."""
    height, width, channels = x.shape
    tiles_h, tiles_w = -(-height // TILE), -(-width // TILE)
    padded = np.zeros((TILE * tiles_h + 2, TILE * tiles_w + 2, channels))
    padded[1 : height + 1, 1 : width + 1] = np.abs(x)
    d = sliding_window_view(padded, (6, 6), axis=(0, 1))[::TILE, ::TILE]  # (th, tw, in, 6, 6)
    u = np.einsum("ai,ijco,bj->abco", _G, kernel, _G)  # (6, 6, in, out)
    bt, at = np.abs(_BT), np.abs(_AT)
    a1 = np.einsum("kp,xycpq->xyckq", bt, d)
    to_out1 = np.einsum("ik,jl,klco,lq->ckqoij", _AT, _AT, u, _BT)
    s1 = 7 * np.einsum("xyckq,ckqoij->xyoij", a1**2, to_out1**2)
    a2 = np.einsum("xyckq,lq->xyckl", a1, bt)
    to_out2 = np.einsum("ik,jl,klco->ckloij", _AT, _AT, u)
    s2 = 7 * np.einsum("xyckl,ckloij->xyoij", a2**2, to_out2**2)
    a3 = np.einsum("klco,xyckl->xyokl", np.abs(u), a2)
    # the channel sum: `channels` terms (channels + 1), U's float32 rounding (1 more)
    to_out3 = np.einsum("ik,jl->klij", _AT, _AT)
    s3 = (channels + 2) * np.einsum("xyokl,klij->xyoij", a3**2, to_out3**2)
    a4 = np.einsum("ik,xyokl->xyoil", at, a3)
    s4 = 7 * np.einsum("xyoil,jl->xyoij", a4**2, _AT**2)
    a5 = np.einsum("xyoil,jl->xyoij", a4, at)
    tile_scale = s1 + s2 + s3 + s4 + 7 * a5**2 + 2 * (a5 + np.abs(bias)[:, None, None]) ** 2

    def untile(tiles: np.ndarray) -> np.ndarray:  # (th, tw, out, 4, 4) -> (h, w, out)
        image = tiles.transpose(0, 3, 1, 4, 2).reshape(TILE * tiles_h, TILE * tiles_w, -1)
        return image[:height, :width]

    return untile(tile_scale)


def pooled_bound(layers: list[Layer], inputs: np.ndarray, input_repr: str) -> np.ndarray:
    """(n, c) bound on the difference of two float32 evaluations' pooled embeddings."""
    scales = []
    for spectrogram in inputs:
        grid, scale = reference_grid(layers, spectrogram, input_repr)
        scales.append(max_with_scale(grid, scale, axis=(0, 1))[1])
    return likely_bound(2 * np.stack(scales))


def spectrograms(count: int, n_mels: int, seed: int) -> np.ndarray:
    """Decibel-like inputs: 0 at the maximum, down to the -80 floor, smooth-ish structure."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(-80.0, 0.0, (count, n_mels, 199))
    base[:, :, 1:] = 0.5 * base[:, :, 1:] + 0.5 * base[:, :, :-1]
    base -= base.max(axis=(1, 2), keepdims=True)
    return base.astype(np.float32)


# --- tests ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("openl3-weights")


@pytest.mark.parametrize("input_repr", ["mel128", "mel256"])
def test_forward_pass_matches_plain_reference(weights_dir: Path, input_repr: str) -> None:
    layers = standin_layers(TINY_FILTERS, seed=7)
    path = write_keras_weights(weights_dir / f"standin-{input_repr}.h5", layers)
    model = OpenL3Model.from_weights(path, input_repr, verify=False, batch_frames=2, workers=1)
    inputs = spectrograms(3, N_MELS[input_repr], seed=1)
    channels = TINY_FILTERS[-1]

    grid = model.embed_spectrograms(inputs, embedding_size=12 * channels)
    pooled = model.embed_spectrograms(inputs, embedding_size=channels)
    assert grid.shape == (3, 12 * channels) and grid.dtype == np.float32
    assert pooled.shape == (3, channels)
    for index, spectrogram in enumerate(inputs):
        # one float32 evaluation against float64, whose own rounding (2^-29 of this bound's
        # size) is left out
        expected, scale = reference_grid(layers, spectrogram, input_repr)  # (4, 3, c) each
        assert_within(grid[index], expected.reshape(-1), likely_bound(scale).reshape(-1), "grid")
        top, top_scale = max_with_scale(expected, scale, axis=(0, 1))
        assert_within(pooled[index], top, likely_bound(top_scale), "pooled")


@pytest.fixture
def one_blas_thread() -> Iterator[None]:
    """BLAS splits a product between its threads by shape and thread count, and the split can
    change its rounding (the spectrograms' log then turns that into tenths of a dB in quiet
    bins). The models' workers run BLAS single-threaded; so does a test that compares their
    results with another model's or with spectrograms computed outside them."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def test_embed_audio_is_front_end_then_network(weights_dir: Path, one_blas_thread: None) -> None:
    layers = standin_layers(TINY_FILTERS, seed=3)
    path = write_keras_weights(weights_dir / "e2e.h5", layers)
    rng = np.random.default_rng(5)
    audio = (0.1 * rng.standard_normal((int(2.2 * 44100), 2))).astype(np.float32)

    def load(batch_frames: int, workers: int) -> OpenL3Model:
        return OpenL3Model.from_weights(
            path, "mel128", verify=False, batch_frames=batch_frames, workers=workers
        )

    serial, parallel = load(1, 1), load(2, 2)
    result = serial.embed_audio(audio, 44100, hop_s=0.5, center=True)
    assert isinstance(result, OpenL3Embeddings)
    embeddings, timestamps = result
    # 2.2 s + 0.5 s of centring: frames at 0, 0.5 .. 2.0 s cover it all
    np.testing.assert_allclose(timestamps, [0.0, 0.5, 1.0, 1.5, 2.0])
    spectrogram_input, _ = serial.spectrograms(audio, 44100, hop_s=0.5, center=True)
    np.testing.assert_array_equal(embeddings, serial.embed_spectrograms(spectrogram_input))
    # The front end works frame by frame (the same bits in any block, as just seen), so both
    # networks see the same spectrograms; batches of two frames instead of one give BLAS
    # other shapes, so the two may differ by both evaluations' rounding.
    bound = pooled_bound(layers, spectrogram_input, "mel128")
    assert_within(parallel.embed_audio(audio, 44100).embeddings, embeddings, bound, "parallel")
    # two float32 means of the same 5 rows, each within gamma_5 * mean|x| of the exact one
    track_bound = 2 * gamma(len(embeddings)) * np.abs(embeddings).mean(axis=0)
    assert_within(result.track_vector(), embeddings.mean(axis=0), track_bound, "track vector")

    # Frames at 0 .. 1 s see the same audio whatever follows 1.51 s. Compared before the
    # front end's decibel scaling (the log of a quiet bin turns rounding into tenths of a
    # dB): each 48 kHz sample is one dot product of at most `window` input samples with a
    # column h of the resampler's polyphase matrix, and other lengths give BLAS other
    # shapes, so |difference| <= 2 gamma_window sum|h_i x_i| <= 2 gamma_window max sum|h| max|x|.
    shorter = audio[: int(1.6 * 44100)]
    resampler = sinc_resampler(44100, 48000)
    assert resampler.matrix is not None
    column_sum = float(np.abs(resampler.matrix.astype(np.float64)).sum(axis=0).max())
    frame_bound = 2 * gamma(resampler.window) * column_sum * float(np.abs(to_mono(audio)).max())
    hop = hop_samples(0.5)
    frames = frame_audio(prepare_audio(audio, 44100), hop, center=True)
    short_frames = frame_audio(prepare_audio(shorter, 44100), hop, center=True)
    assert_within(short_frames[:3], frames[:3], frame_bound, "frames")

    # workers keep scratch arrays and zero-bordered activations between calls and batch sizes
    for model in (serial, parallel):
        first_call = model.embed_audio(audio, 44100).embeddings
        later = model.embed_audio(shorter, 44100).embeddings
        fresh = load(model.batch_frames, model.workers)  # nothing kept from an earlier call
        np.testing.assert_array_equal(later, fresh.embed_audio(shorter, 44100).embeddings)
        fresh.close()
        # the first three frames' spectrograms alone: where a frame's batch has the size it
        # had among all five, the same bits; otherwise BLAS may round differently
        alone = model.embed_spectrograms(spectrogram_input[:3])
        for frame in range(3):
            start = frame - frame % model.batch_frames
            if min(model.batch_frames, 3 - start) == min(model.batch_frames, 5 - start):
                np.testing.assert_array_equal(alone[frame], first_call[frame])
            else:
                assert_within(alone[frame], first_call[frame], bound[frame], f"frame {frame}")
        np.testing.assert_array_equal(model.embed_audio(audio, 44100).embeddings, first_call)
        model.close()  # stops the worker threads; a later call starts new ones
        np.testing.assert_array_equal(model.embed_audio(audio, 44100).embeddings, first_call)
    uncentred = serial.embed_audio(audio, 44100, hop_s=1.0, center=False)
    np.testing.assert_allclose(uncentred.timestamps, [0.0, 1.0, 2.0])


def test_metadata_of_unverified_standin(weights_dir: Path) -> None:
    path = write_keras_weights(weights_dir / "meta.h5", standin_layers(TINY_FILTERS, seed=3))
    info = OpenL3Model.from_weights(path, "mel256", verify=False).info
    assert info.name == "openl3-mel256-music"
    assert (info.source_model, info.license, info.content_type) == ("openl3", "CC-BY-4.0", "music")
    assert info.embedding_dim == TINY_FILTERS[-1]
    assert info.weights_blob_id is None  # not verified
    assert info.weights_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info.frontend["n_mels"] == 256 and info.frontend["hop_length"] == 242


def test_whole_model_save_and_gzip_load_the_same(weights_dir: Path) -> None:
    layers = standin_layers(TINY_FILTERS, seed=11)
    plain = write_keras_weights(weights_dir / "plain.h5", layers, weightless=False)
    whole = write_keras_weights(weights_dir / "whole.h5", layers, whole_model=True)
    zipped = weights_dir / "plain.h5.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    inputs = spectrograms(1, 128, seed=2)
    results = [
        OpenL3Model.from_weights(p, "mel128", verify=False, workers=1).embed_spectrograms(inputs)
        for p in (plain, whole, zipped)
    ]
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])


def test_older_files_with_kapre_layers_skip_them(weights_dir: Path) -> None:
    layers = standin_layers(TINY_FILTERS, seed=4)
    kapre_layer: Layer = (
        "melspectrogram_1",
        {"real_kernels": np.ones((2048, 1, 1, 1025)), "freq2mel": np.ones((1025, 128))},
    )
    old = write_keras_weights(weights_dir / "v0_2_0.h5", [kapre_layer, *layers])
    new = write_keras_weights(weights_dir / "v0_4_0.h5", layers)
    old_model = OpenL3Model.from_weights(old, "mel128", verify=False, workers=1)
    new_model = OpenL3Model.from_weights(new, "mel128", verify=False, workers=1)
    assert old_model.info.skipped_layers == ("melspectrogram_1",)
    inputs = spectrograms(1, 128, seed=9)
    np.testing.assert_array_equal(
        old_model.embed_spectrograms(inputs), new_model.embed_spectrograms(inputs)
    )


def test_wrong_structure_is_rejected(weights_dir: Path) -> None:
    layers = standin_layers(TINY_FILTERS, seed=4)
    missing_norm = write_keras_weights(weights_dir / "missing.h5", layers[:3] + layers[4:])
    with pytest.raises(WeightsError, match="does not have the OpenL3 audio network's layers"):
        OpenL3Model.from_weights(missing_norm, "mel128", verify=False)
    name, weights = layers[3]
    bad_kernel = dict(weights, kernel=np.ones((5, 5, 3, 4)))
    wrong_shape = write_keras_weights(
        weights_dir / "shape.h5", [*layers[:3], (name, bad_kernel), *layers[4:]]
    )
    with pytest.raises(WeightsError, match=r"conv 1 kernel has shape \(5, 5, 3, 4\)"):
        OpenL3Model.from_weights(wrong_shape, "mel128", verify=False)
    not_hdf5 = weights_dir / "garbage.h5"
    not_hdf5.write_bytes(b"not an hdf5 file")
    with pytest.raises(WeightsError, match="cannot read"):
        OpenL3Model.from_weights(not_hdf5, "mel128", verify=False)


def test_bad_calls_are_rejected(weights_dir: Path) -> None:
    path = write_keras_weights(weights_dir / "calls.h5", standin_layers(TINY_FILTERS, seed=3))
    with pytest.raises(WeightsError, match=r"not a distributed \.h5\.gz"):
        OpenL3Model.from_weights(path, "mel128")  # verification cannot cover a plain .h5
    model = OpenL3Model.from_weights(path, "mel128", verify=False, workers=1)
    with pytest.raises(InvalidArgument, match="embedding_size"):
        model.embed_spectrograms(spectrograms(1, 128, seed=0), embedding_size=512)
    with pytest.raises(InvalidArgument, match=r"shape \(n, 128, 199\)"):
        model.embed_spectrograms(np.zeros((1, 256, 199), np.float32))
    with pytest.raises(InvalidArgument, match="input_repr"):
        OpenL3Model.from_weights(path, "linear", verify=False)
    with pytest.raises(InvalidArgument, match="center"):
        model.embed_audio(np.zeros(48000, np.float32), 48000, center=1)  # type: ignore[arg-type]
