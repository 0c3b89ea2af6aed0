"""Throughput of the embedder's audio models: x-realtime and peak memory.

    .venv/bin/python bench/embed_throughput.py [AUDIO ...] [--model musicnn] [--repeat 3]

With no AUDIO, 60 s of synthetic music-like audio at 44.1 kHz is used (so resampling is
exercised). x-realtime = seconds of audio embedded per second of wall time, best of
`--repeat` runs, decoding excluded (reported separately). Peak memory is measured in a
separate pass under tracemalloc (NumPy reports its buffers to it), plus the process's peak
RSS. Thread count follows the usual BLAS variables (OPENBLAS_NUM_THREADS etc.).
Models are registered in MODELS; add one by giving it a loader.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from services.embedder.models import MusicnnModel, load_audio


class AudioEmbedder(Protocol):
    def embed_audio(self, samples: np.ndarray, sample_rate: int) -> object: ...


@dataclass(frozen=True)
class Clip:
    name: str
    samples: np.ndarray
    sample_rate: int
    decode_s: float

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


def load_musicnn() -> AudioEmbedder:
    return MusicnnModel.from_checkpoint()


MODELS: dict[str, Callable[[], AudioEmbedder]] = {"musicnn": load_musicnn}


def synthetic_clip(seconds: float, rate: int = 44100) -> Clip:
    """Decaying harmonic notes over light noise, deterministic."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * rate)) / rate
    out = 0.02 * rng.standard_normal(len(t))
    for onset in np.arange(0.0, seconds, 0.25):
        f0 = rng.choice([110.0, 147.0, 196.0, 262.0, 330.0, 440.0])
        start = int(onset * rate)
        tail = t[start:] - onset
        envelope = np.exp(-tail * 5)
        out[start:] += envelope * sum(np.sin(2 * np.pi * f0 * h * tail) / h for h in (1, 2, 3, 4))
    samples = (0.3 * out / np.abs(out).max()).astype(np.float32)
    return Clip(f"synthetic {seconds:.0f} s @ {rate} Hz", samples, rate, 0.0)


def decoded_clip(path: Path) -> Clip:
    start = time.perf_counter()
    samples, rate = load_audio(path)
    return Clip(path.name, samples, rate, time.perf_counter() - start)


@dataclass(frozen=True)
class Timing:
    wall_s: float
    cpu_s: float  # all threads of this process; robust to other load on the machine


def best_time(run: Callable[[], object], repeat: int) -> Timing:
    run()  # warm-up: filter design, BLAS thread start-up, page faults
    timings = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        timings.append(Timing(time.perf_counter() - wall, time.process_time() - cpu))
    return min(timings, key=lambda timing: timing.wall_s)


def traced_peak_mib(run: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def report(model_name: str, model: AudioEmbedder, clip: Clip, repeat: int) -> None:
    def embed() -> object:
        return model.embed_audio(clip.samples, clip.sample_rate)

    total = best_time(embed, repeat)
    line = (
        f"{model_name:8s} {clip.name:28s} {clip.seconds:6.1f} s audio  "
        f"{clip.seconds / total.wall_s:6.1f}x realtime ({total.wall_s * 1000:.0f} ms wall, "
        f"{clip.seconds / total.cpu_s:.1f}x per CPU-second)"
    )
    if isinstance(model, MusicnnModel):  # split front end / network
        patches = model.patches(clip.samples, clip.sample_rate)
        front = best_time(lambda: model.patches(clip.samples, clip.sample_rate), repeat)
        network = best_time(lambda: model.embed_patches(patches), repeat)
        line += (
            f"  front end {clip.seconds / front.wall_s:.0f}x,"
            f" network {clip.seconds / network.wall_s:.1f}x ({len(patches)} patches)"
        )
    if clip.decode_s:
        line += f"  decode {clip.seconds / clip.decode_s:.0f}x"
    line += f"  peak traced {traced_peak_mib(embed):.0f} MiB"
    print(line, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audio", nargs="*", type=Path, help="audio files (default: synthetic)")
    parser.add_argument("--model", choices=sorted(MODELS), action="append")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60.0, help="synthetic clip length")
    args = parser.parse_args(argv)

    cpus = len(os.sched_getaffinity(0))
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    load = os.getloadavg()[0]
    print(
        f"{cpus} CPUs available, load average {load:.1f}, "
        f"OPENBLAS_NUM_THREADS={threads}, numpy {np.__version__}"
    )
    clips = [decoded_clip(path) for path in args.audio] or [synthetic_clip(args.seconds)]
    for model_name in args.model or sorted(MODELS):
        start = time.perf_counter()
        model = MODELS[model_name]()
        print(f"{model_name}: loaded in {time.perf_counter() - start:.2f} s")
        for clip in clips:
            report(model_name, model, clip, args.repeat)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS {peak_rss:.0f} MiB")


if __name__ == "__main__":
    main()
