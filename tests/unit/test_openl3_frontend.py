"""OpenL3's input pipeline (kapre.py) against straightforward references written here.

References: resampy 0.2's resampling loop transcribed as-is (per output sample, table
lookups with linear interpolation, float time register), openl3 0.4.2's framing
(`_preprocess_audio_batch`), and the kapre mel spectrogram as a direct DFT-matrix STFT, a
filterbank built triangle by triangle from the Slaney mel formula, and the decibel scaling.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal.windows import kaiser

from services.common.errors import InvalidArgument
from services.embedder.models.kapre import (
    KapreMelSpectrogram,
    frame_audio,
    hop_samples,
    kapre_params,
    prepare_audio,
    sinc_resampler,
)
from tests.unit.rounding import U64, assert_within, gamma

# --- resampling -------------------------------------------------------------------------------


def resampy_loop(
    x: np.ndarray, sr_orig: int, sr_new: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """resampy 0.2.2 `resample(x, sr_orig, sr_new, filter='kaiser_best')`, transcribed; also
    sum |weight * sample| and the number of terms per output (for the rounding bound)."""
    num_zeros, num_table = 64, 512
    n = num_zeros * num_table
    rolloff, beta = 0.9475937167399596, 14.769656459379492
    interp_win = rolloff * np.sinc(rolloff * np.linspace(0, num_zeros, n + 1))
    interp_win *= kaiser(2 * n + 1, beta)[n:]
    sample_ratio = float(sr_new) / sr_orig
    if sample_ratio < 1:
        interp_win *= sample_ratio
    interp_delta = np.zeros_like(interp_win)
    interp_delta[:-1] = np.diff(interp_win)
    y = np.zeros(int(x.shape[0] * sample_ratio))
    magnitude, terms = np.zeros_like(y), np.zeros(len(y), dtype=int)
    scale = min(1.0, sample_ratio)
    time_increment = 1.0 / sample_ratio
    index_step = int(scale * num_table)
    time_register = 0.0
    nwin = interp_win.shape[0]
    for t in range(len(y)):
        n_in = int(time_register)
        frac = scale * (time_register - n_in)
        index_frac = frac * num_table
        offset = int(index_frac)
        eta = index_frac - offset
        for i in range(min(n_in + 1, (nwin - offset) // index_step)):
            k = offset + i * index_step
            y[t] += (interp_win[k] + eta * interp_delta[k]) * x[n_in - i]
            magnitude[t] += abs((interp_win[k] + eta * interp_delta[k]) * x[n_in - i])
            terms[t] += 1
        frac = scale - frac
        index_frac = frac * num_table
        offset = int(index_frac)
        eta = index_frac - offset
        for i in range(min(x.shape[0] - n_in - 1, (nwin - offset) // index_step)):
            k = offset + i * index_step
            y[t] += (interp_win[k] + eta * interp_delta[k]) * x[n_in + i + 1]
            magnitude[t] += abs((interp_win[k] + eta * interp_delta[k]) * x[n_in + i + 1])
            terms[t] += 1
        time_register += time_increment
    return y, magnitude, terms


@pytest.mark.parametrize(
    ("source_rate", "seconds"),
    [(44100, 0.004), (22050, 0.008), (16000, 0.01), (96000, 0.003), (88200, 0.004), (44056, 0.003)],
)
def test_resampling_matches_resampy(source_rate: int, seconds: float) -> None:
    rng = np.random.default_rng(source_rate)
    x = rng.uniform(-0.5, 0.5, int(seconds * source_rate))
    expected, magnitude, terms = resampy_loop(x, source_rate, 48000)
    got = sinc_resampler(source_rate, 48000)(x)
    assert got.dtype == np.float32 and got.shape == expected.shape
    # Each output is a dot product of `terms` samples with filter weights: ours in float32,
    # the samples and the weights each rounded to float32 once, so within
    # gamma_{terms + 2} * sum|w x|; resampy's in float64 (gamma_terms with u = 2^-53). And
    # resampy reads the filter at a time it sums step by step in float64 (ours is exact): off
    # by less than 2 * outputs * samples * 2^-53 samples (each sum and the increment within
    # 2^-53 relative), i.e. that times 512 table entries, which moves each linearly
    # interpolated weight by at most that times the largest table step, per term of |x|.
    table_step = np.abs(np.diff(sinc_resampler(source_rate, 48000).taps.table)).max()
    time_error = 2 * len(got) * len(x) * U64 * 512
    bound = (
        np.array([gamma(n + 2) + gamma(n, U64) for n in terms]) * magnitude
        + time_error * table_step * terms * np.abs(x).max()
    )
    assert_within(got, expected, bound, "resampled")


def test_resampling_keeps_a_tone_and_its_level() -> None:
    t = np.arange(44100) / 44100
    got = prepare_audio(np.sin(2 * np.pi * 1000 * t), 44100)
    expected = np.sin(2 * np.pi * 1000 * np.arange(48000) / 48000)
    middle = slice(1000, 47000)  # away from the zero-padded edges
    np.testing.assert_allclose(got[middle], expected[middle], atol=1e-3)


def test_prepare_audio_downmixes_and_validates() -> None:
    stereo = np.stack([np.full(480, 0.5), np.full(480, -0.1)], axis=1)
    np.testing.assert_allclose(prepare_audio(stereo, 48000), np.full(480, 0.2), atol=1e-7)
    with pytest.raises(InvalidArgument, match="no samples"):
        prepare_audio(np.zeros(0), 48000)
    with pytest.raises(InvalidArgument, match="NaN"):
        prepare_audio(np.array([0.0, np.nan]), 48000)
    with pytest.raises(InvalidArgument, match="sample rate"):
        prepare_audio(np.zeros(10), 0)
    with pytest.raises(InvalidArgument, match="floats"):
        prepare_audio(np.zeros(10, dtype=np.int16), 48000)


# --- framing ----------------------------------------------------------------------------------


def openl3_frames(audio: np.ndarray, hop_size: float, center: bool) -> np.ndarray:
    """openl3 0.4.2 `_preprocess_audio_batch` after resampling, transcribed."""
    frame_len = 48000
    hop_len = int(hop_size * 48000)
    if center:
        audio = np.pad(audio, (int(frame_len / 2.0), 0), mode="constant")
    audio_len = audio.size
    if audio_len < frame_len:
        pad_length = frame_len - audio_len
    else:
        pad_length = int(np.ceil((audio_len - frame_len) / float(hop_len))) * hop_len - (
            audio_len - frame_len
        )
    if pad_length > 0:
        audio = np.pad(audio, (0, pad_length), mode="constant")
    n_frames = 1 + int((len(audio) - frame_len) / float(hop_len))
    return np.stack([audio[i * hop_len : i * hop_len + frame_len] for i in range(n_frames)])


@pytest.mark.parametrize("length", [1, 23999, 24000, 48000, 96000, 100_001])
@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("hop_s", [0.1, 0.5, 1.0])
def test_framing_matches_openl3(length: int, center: bool, hop_s: float) -> None:
    audio = np.arange(1, length + 1, dtype=np.float32)
    got = frame_audio(audio, hop_samples(hop_s), center)
    np.testing.assert_array_equal(got, openl3_frames(audio, hop_s, center))


def test_hop_truncates_as_openl3_and_rejects_bad_values() -> None:
    assert hop_samples(0.5) == 24000
    assert hop_samples(0.1) == 4800
    assert hop_samples(0.3) == int(0.3 * 48000)  # 14399: openl3 truncates the float product
    for bad in (0, -0.5, float("nan"), 1e-9):
        with pytest.raises(InvalidArgument, match="hop_s"):
            hop_samples(bad)


# --- mel spectrogram --------------------------------------------------------------------------


def slaney_mel(hz: float) -> float:
    if hz < 1000.0:
        return 3.0 * hz / 200.0
    return 15.0 + math.log(hz / 1000.0) / (math.log(6.4) / 27.0)


def slaney_hz(mel: float) -> float:
    if mel < 15.0:
        return 200.0 * mel / 3.0
    return 1000.0 * math.exp((mel - 15.0) * math.log(6.4) / 27.0)


def reference_filterbank(n_mels: int, n_fft: int = 2048, sr: int = 48000) -> np.ndarray:
    """(n_mels, n_fft/2 + 1): triangles between Slaney-mel-spaced edges, unit area each."""
    top = slaney_mel(sr / 2)
    edges = [slaney_hz(top * m / (n_mels + 1)) for m in range(n_mels + 2)]
    bins = [k * sr / n_fft for k in range(n_fft // 2 + 1)]
    bank = np.zeros((n_mels, len(bins)))
    for m in range(n_mels):
        low, centre, high = edges[m], edges[m + 1], edges[m + 2]
        for k, f in enumerate(bins):
            if low < f < high:
                rise = (f - low) / (centre - low)
                fall = (high - f) / (high - centre)
                bank[m, k] = min(rise, fall) * 2.0 / (high - low)
    return bank


def reference_spectrogram(frame: np.ndarray, n_mels: int) -> np.ndarray:
    """(n_mels, 199) kapre-style decibel mel spectrogram of one 48000-sample frame."""
    n_fft, hop, n_frames = 2048, 242, 199
    padded = np.concatenate([frame, np.zeros((n_frames - 1) * hop + n_fft - len(frame))])
    n = np.arange(n_fft)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft)  # tf.signal.hann_window(periodic)
    dft = np.exp(-2j * np.pi * np.outer(np.arange(n_fft // 2 + 1), n) / n_fft)
    columns = np.stack([padded[i * hop : i * hop + n_fft] * window for i in range(n_frames)])
    magnitude = np.abs(columns @ dft.T)  # (199, 1025)
    mel = reference_filterbank(n_mels) @ magnitude.T  # (n_mels, 199)
    decibel = 10.0 * np.log10(np.maximum(mel, 1e-10))
    return np.maximum(decibel - decibel.max(), -80.0)


def synthetic_frames(count: int, seed: int) -> np.ndarray:
    """Tones, a chirp and noise at moderate levels, plus one frame that is mostly silence."""
    rng = np.random.default_rng(seed)
    t = np.arange(48000) / 48000
    frames = []
    for _ in range(count - 1):
        f0 = rng.uniform(80, 2000)
        tone = sum(np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6)) / h for h in (1, 2, 3, 5))
        chirp = 0.3 * np.sin(2 * np.pi * (200 * t + 4000 * t**2))
        frames.append(0.2 * tone + chirp + 0.01 * rng.standard_normal(48000))
    quiet = np.zeros(48000)
    quiet[30000:31000] = 0.5 * rng.standard_normal(1000)
    frames.append(quiet)
    return np.stack(frames).astype(np.float32)


@pytest.mark.parametrize("input_repr", ["mel128", "mel256"])
def test_mel_spectrogram_matches_direct_reference(input_repr: str) -> None:
    params = kapre_params(input_repr)
    frames = synthetic_frames(3, seed=params.n_mels)
    got = KapreMelSpectrogram(params)(frames)
    assert got.shape == (3, params.n_mels, 199) and got.dtype == np.float32
    for frame, spectrogram in zip(frames, got, strict=True):
        expected = reference_spectrogram(frame.astype(np.float64), params.n_mels)
        np.testing.assert_allclose(spectrogram, expected, rtol=0, atol=5e-3)  # dB
        assert spectrogram.max() == 0.0 and spectrogram.min() >= -80.0


def test_filterbank_matches_reference() -> None:
    spectrogram = KapreMelSpectrogram(kapre_params("mel256"))
    np.testing.assert_allclose(
        spectrogram.filterbank_t.T, reference_filterbank(256), rtol=1e-5, atol=1e-9
    )


def test_silence_is_the_floor_relative_to_its_own_maximum() -> None:
    got = KapreMelSpectrogram(kapre_params("mel128"))(np.zeros((1, 48000), np.float32))
    # all bins at amin: 10 log10(1e-10) - max = 0 everywhere, as kapre computes it
    np.testing.assert_array_equal(got, np.zeros((1, 128, 199), np.float32))


def test_unknown_input_repr_is_rejected() -> None:
    with pytest.raises(InvalidArgument, match="linear"):
        kapre_params("linear")
