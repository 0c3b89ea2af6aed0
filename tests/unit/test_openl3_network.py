"""OpenL3's network wiring and weight loading, with stand-in weights (a test fixture).

The real weights are not on our machines, so a small seeded random weight set with the
exact Keras layer structure of openl3's audio network (fewer filters per layer) is written
as a Keras `save_weights` HDF5 file, loaded through the product's loader, and the fast
forward pass (Winograd convolutions, folded batch norms, pooling before ReLU) is compared
with a plain float64 reference: batch norms as written, scipy's correlate2d per channel
pair, pooling by explicit windows, Keras' flatten order.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy.signal import correlate2d

from services.common.errors import InvalidArgument
from services.embedder.models.h5weights import WeightsError
from services.embedder.models.openl3 import OpenL3Embeddings, OpenL3Model

TINY_FILTERS = (3, 3, 4, 4, 5, 5, 6, 6)
GRID_POOL = {"mel256": (8, 8), "mel128": (4, 8)}
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


def reference_grid(layers: list[Layer], spectrogram: np.ndarray, input_repr: str) -> np.ndarray:
    """(4, 3, c) max grid of one (n_mels, 199) spectrogram, computed the plain way."""
    weights = dict(layers)

    def batch_norm(name: str, x: np.ndarray) -> np.ndarray:
        w = weights[name]
        normalised = (x - w["moving_mean"]) / np.sqrt(w["moving_variance"] + 1e-3)
        return normalised * w["gamma"] + w["beta"]

    x = batch_norm("batch_normalization_1", spectrogram.astype(np.float64)[:, :, None])
    conv_names = [name for name, _ in layers if "conv" in name or "embedding" in name]
    for index, name in enumerate(conv_names):
        kernel, bias = weights[name]["kernel"], weights[name]["bias"]
        height, width, in_channels = x.shape
        y = np.zeros((height, width, kernel.shape[3]))
        for out_channel in range(kernel.shape[3]):
            for in_channel in range(in_channels):
                y[:, :, out_channel] += correlate2d(
                    x[:, :, in_channel], kernel[:, :, in_channel, out_channel], mode="same"
                )
            y[:, :, out_channel] += bias[out_channel]
        if index < len(conv_names) - 1:
            y = np.maximum(batch_norm(f"batch_normalization_{index + 2}", y), 0.0)
        if index in (1, 3, 5):
            y = max_pool(y, (2, 2))
        x = y
    return max_pool(x, GRID_POOL[input_repr])


def max_pool(x: np.ndarray, pool: tuple[int, int]) -> np.ndarray:
    """Windows of `pool`, stride `pool`; trailing rows/columns that fill no window dropped
    (the final grid pools divide the map exactly, so 'same' and 'valid' agree there)."""
    rows, cols = x.shape[0] // pool[0], x.shape[1] // pool[1]
    out = np.empty((rows, cols, x.shape[2]))
    for i in range(rows):
        for j in range(cols):
            window = x[i * pool[0] : (i + 1) * pool[0], j * pool[1] : (j + 1) * pool[1]]
            out[i, j] = window.max(axis=(0, 1))
    return out


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
        expected = reference_grid(layers, spectrogram, input_repr)  # (4, 3, c)
        scale = np.abs(expected).max()
        np.testing.assert_allclose(grid[index], expected.reshape(-1), rtol=0, atol=1e-5 * scale)
        np.testing.assert_allclose(
            pooled[index], expected.max(axis=(0, 1)), rtol=0, atol=1e-5 * scale
        )


def test_embed_audio_is_front_end_then_network(weights_dir: Path) -> None:
    path = write_keras_weights(weights_dir / "e2e.h5", standin_layers(TINY_FILTERS, seed=3))
    rng = np.random.default_rng(5)
    audio = (0.1 * rng.standard_normal((int(2.2 * 44100), 2))).astype(np.float32)
    serial = OpenL3Model.from_weights(path, "mel128", verify=False, batch_frames=1, workers=1)
    parallel = OpenL3Model.from_weights(path, "mel128", verify=False, batch_frames=2, workers=2)

    result = serial.embed_audio(audio, 44100, hop_s=0.5, center=True)
    assert isinstance(result, OpenL3Embeddings)
    embeddings, timestamps = result
    # 2.2 s + 0.5 s of centring: frames at 0, 0.5 .. 2.0 s cover it all
    np.testing.assert_allclose(timestamps, [0.0, 0.5, 1.0, 1.5, 2.0])
    spectrogram_input, _ = serial.spectrograms(audio, 44100, hop_s=0.5, center=True)
    np.testing.assert_array_equal(embeddings, serial.embed_spectrograms(spectrogram_input))
    np.testing.assert_allclose(
        parallel.embed_audio(audio, 44100).embeddings, embeddings, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(result.track_vector(), embeddings.mean(axis=0), rtol=1e-6)
    # workers keep scratch arrays and zero-bordered activations between calls and batch sizes
    for model in (serial, parallel):
        first_call = model.embed_audio(audio, 44100).embeddings
        shorter = audio[: int(1.6 * 44100)]  # frames at 0 .. 1 s only see audio before 1.51 s
        np.testing.assert_allclose(  # other batch shapes: BLAS may round differently
            model.embed_audio(shorter, 44100).embeddings[:3], first_call[:3], rtol=0, atol=1e-5
        )
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
