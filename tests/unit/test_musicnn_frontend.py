"""musicnn's audio front end against straightforward, independent reference computations."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile
from scipy.signal import resample_poly

from services.common.errors import InvalidArgument
from services.embedder.models.frontend import (
    LogMelFrontend,
    load_audio,
    mel_filterbank,
    resample,
    resampler,
)
from tests.unit.rounding import U64, assert_within, gamma

SR = 16000
N_FFT = 512
HOP = 256


def sweep(seconds: float, rate: int, f0: float = 50.0, f1: float = 7500.0) -> np.ndarray:
    """Exponential sine sweep with a slow amplitude wobble, so every mel band sees energy."""
    t = np.arange(int(seconds * rate)) / rate
    k = math.log(f1 / f0) / seconds
    phase = 2 * np.pi * f0 * (np.exp(k * t) - 1) / k
    return (0.5 * np.sin(phase) * (0.6 + 0.4 * np.sin(2 * np.pi * 1.3 * t))).astype(np.float32)


# --- the reference: textbook formulas, loops, float64 -----------------------------------------


def slaney_hz_to_mel(hz: float) -> float:
    # Slaney's Auditory Toolbox: 3 mels per 200 Hz up to 1 kHz (= 15 mels), then log-spaced
    # so that 6.4x the frequency adds 27 mels.
    return 3 * hz / 200 if hz < 1000 else 15 + 27 * math.log(hz / 1000) / math.log(6.4)


def slaney_mel_to_hz(mel: float) -> float:
    return 200 * mel / 3 if mel < 15 else 1000 * 6.4 ** ((mel - 15) / 27)


def reference_filterbank(n_mels: int = 96, fmax: float = SR / 2) -> np.ndarray:
    top = slaney_hz_to_mel(fmax)
    edges = [slaney_mel_to_hz(top * i / (n_mels + 1)) for i in range(n_mels + 2)]
    bank = np.zeros((n_mels, N_FFT // 2 + 1))
    for band in range(n_mels):
        low, centre, high = edges[band : band + 3]
        for b in range(N_FFT // 2 + 1):
            f = b * SR / N_FFT
            if low < f <= centre:
                bank[band, b] = (f - low) / (centre - low)
            elif centre < f < high:
                bank[band, b] = (high - f) / (high - centre)
        bank[band] *= 2 / (high - low)  # unit area ("slaney" normalisation)
    return bank


def reference_log_mel(samples: np.ndarray) -> np.ndarray:
    x = np.concatenate([np.zeros(N_FFT // 2), samples.astype(np.float64), np.zeros(N_FFT // 2)])
    n = np.arange(N_FFT)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)
    k = np.arange(N_FFT // 2 + 1)[:, None]
    dft = np.exp(-2j * np.pi * k * n / N_FFT)  # explicit DFT matrix
    n_frames = 1 + len(samples) // HOP
    frames = np.stack([x[i * HOP : i * HOP + N_FFT] * window for i in range(n_frames)])
    power = np.abs(frames @ dft.T) ** 2
    return np.log10(10000 * power @ reference_filterbank().T + 1)


# --- tests ------------------------------------------------------------------------------------


def test_slaney_scale_anchor_points() -> None:
    assert slaney_hz_to_mel(1000) == pytest.approx(15)
    assert slaney_hz_to_mel(6400) == pytest.approx(42)


def test_filterbank_matches_the_explicit_triangles() -> None:
    ours = mel_filterbank(SR, N_FFT, 96)
    assert ours.shape == (96, 257) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, reference_filterbank(), rtol=1e-5, atol=1e-9)
    assert np.all(ours.sum(axis=1) > 0)  # no empty band at this resolution


def test_log_mel_of_a_sweep_matches_direct_dft_reference() -> None:
    samples = sweep(18.0, SR)  # 1126 frames: more than one of the front end's STFT blocks
    ours = LogMelFrontend().log_mel(samples, SR)
    reference = reference_log_mel(samples)
    assert ours.shape == reference.shape == (1 + len(samples) // HOP, 96)
    assert ours.dtype == np.float32
    # float32 FFT and matmul against a float64 DFT: a few float32 ulps of relative error in
    # the power, which log10(1e4 S + 1) shrinks further (measured max 2.4e-6).
    np.testing.assert_allclose(ours, reference, atol=2e-5)
    assert reference.max() > 3  # the sweep really lights the bands up


def test_sweep_energy_moves_up_the_mel_bands() -> None:
    log_mel = LogMelFrontend().log_mel(sweep(4.0, SR), SR)
    peaks = log_mel[10:-10].argmax(axis=1)
    assert np.all(np.diff(peaks) >= -1)  # monotone up to neighbour-band ties
    assert peaks[0] < 20 < 80 < peaks[-1]


@pytest.mark.parametrize("rate", [44100, 48000, 22050, 32000, 8000, 88200, 12345])
def test_resampler_equals_resample_poly_with_the_same_filter(rate: int) -> None:
    r = resampler(rate, SR)
    x = np.random.default_rng(rate).standard_normal(rate // 2 + 31).astype(np.float32)
    expected = resample_poly(x.astype(np.float64), r.up, r.down, window=r.taps / r.up)
    got = resample(x, rate, SR)
    assert got.shape == expected.shape and got.dtype == np.float32
    if r.matrix is None:  # FFT convolution per phase, or scipy itself: no BLAS involved
        np.testing.assert_allclose(got, expected, atol=2e-5)
        return
    # One BLAS product: each output a dot product of at most n (nonzero) filter taps, rounded
    # to float32 once, with float32 samples: within gamma_{n+1} sum|h x| of the exact value,
    # and scipy's float64 within gamma_n (u = 2^-53) of it; sum|h x| from the same resampling
    # of |x| with |h|.
    n = int(np.count_nonzero(r.matrix, axis=0).max())
    magnitude = resample_poly(
        np.abs(x.astype(np.float64)), r.up, r.down, window=np.abs(r.taps) / r.up
    )
    assert_within(got, expected, (gamma(n + 1) + gamma(n, U64)) * magnitude, "resampled")


@pytest.mark.parametrize("rate", [44100, 48000])
def test_resampler_keeps_the_passband_and_rejects_aliases(rate: int) -> None:
    t = np.arange(2 * rate) / rate
    tone = resample(np.sin(2 * np.pi * 1000 * t).astype(np.float32), rate, SR)
    expected = np.sin(2 * np.pi * 1000 * np.arange(len(tone)) / SR)
    np.testing.assert_allclose(tone[2000:-2000], expected[2000:-2000], atol=1e-3)
    alias = resample(np.sin(2 * np.pi * 9000 * t).astype(np.float32), rate, SR)
    assert np.sqrt(np.mean(alias[2000:-2000] ** 2)) < 1e-5  # 9 kHz folds to 7 kHz: > 100 dB down


def test_resampling_tiny_inputs_keeps_resample_poly_lengths() -> None:
    for n in (1, 2, 3, 440, 441, 442):
        assert len(resample(np.ones(n, np.float32), 44100, SR)) == math.ceil(n * 160 / 441)


def test_patches_are_non_overlapping_and_drop_the_tail() -> None:
    frontend = LogMelFrontend()
    log_mel = np.arange(2 * 187 + 50, dtype=np.float32)[:, None] * np.ones((1, 96), np.float32)
    patches = frontend.patches(log_mel)
    assert patches.shape == (2, 187, 96)
    np.testing.assert_array_equal(patches[0], log_mel[:187])
    np.testing.assert_array_equal(patches[1], log_mel[187:374])


def test_short_clip_is_repeated_to_one_patch() -> None:
    frontend = LogMelFrontend()
    log_mel = np.random.default_rng(0).random((50, 96)).astype(np.float32)
    patches = frontend.patches(log_mel)
    assert patches.shape == (1, 187, 96)
    np.testing.assert_array_equal(patches[0, :50], log_mel)
    np.testing.assert_array_equal(patches[0, 50:100], log_mel)
    np.testing.assert_array_equal(patches[0, 150:187], log_mel[:37])


def test_front_end_turns_seconds_into_patches() -> None:
    frontend = LogMelFrontend()
    assert frontend(sweep(10.0, 44100), 44100).shape == (3, 187, 96)  # 626 frames -> 3 patches
    assert frontend(sweep(0.5, 22050), 22050).shape == (1, 187, 96)
    assert frontend(np.zeros(1, np.float32), 16000).shape == (1, 187, 96)


@pytest.mark.parametrize(
    ("samples", "message"),
    [
        (np.zeros((2, 100), np.float32), "mono"),
        (np.zeros(0, np.float32), "no samples"),
        (np.array([0.0, np.nan], np.float32), "NaN"),
        (np.zeros(100, np.int16), "int16"),
    ],
)
def test_bad_audio_is_rejected_with_the_reason(samples: np.ndarray, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        LogMelFrontend().log_mel(samples, SR)


@pytest.mark.parametrize("rate", [0, -16000, 44100.0])
def test_bad_sample_rate_is_rejected(rate: int) -> None:
    with pytest.raises(InvalidArgument, match=f"positive integer, got {rate!r}"):
        LogMelFrontend().log_mel(np.zeros(100, np.float32), rate)


def test_load_audio_mixes_down_to_mono(tmp_path: Path) -> None:
    left = sweep(1.0, 22050)
    stereo = np.stack([left, np.zeros_like(left)], axis=1)
    soundfile.write(tmp_path / "clip.wav", stereo, 22050, subtype="FLOAT")
    samples, rate = load_audio(tmp_path / "clip.wav")
    assert rate == 22050 and samples.dtype == np.float32 and samples.shape == left.shape
    np.testing.assert_allclose(samples, left / 2, atol=1e-7)


def test_load_audio_names_the_undecodable_file(tmp_path: Path) -> None:
    path = tmp_path / "not-audio.ogg"
    path.write_bytes(b"definitely not vorbis")
    with pytest.raises(InvalidArgument, match=r"not-audio\.ogg"):
        load_audio(path)
