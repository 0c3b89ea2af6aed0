"""Peak resident memory of benchmark child processes, sampled in a background thread.

Peaks are kept per (process name, phase), so a report can say what start-up cost and what
serving cost. A guard kills one named process (one this benchmark started) when the
machine's available memory falls under a floor, so a runaway service is reported instead
of taking the whole machine down with the OOM killer picking a victim.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field

import psutil

GIB = 1024**3


@dataclass
class Guard:
    name: str                   # the process to kill
    min_available: int          # bytes
    tripped: str = ""           # why it fired, when it did


@dataclass
class MemorySampler:
    interval_s: float = 0.1
    phase: str = "start"
    peaks: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    system_used_peak: int = 0
    guard: Guard | None = None
    _procs: dict[str, psutil.Process] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def watch(self, name: str, pid: int) -> None:
        with self._lock:
            self._procs[name] = psutil.Process(pid)

    def forget(self, name: str) -> None:
        with self._lock:
            self._procs.pop(name, None)

    def peak(self, name: str, phase: str | None = None) -> int:
        return max((v for (n, p), v in self.peaks.items()
                    if n == name and (phase is None or p == phase)), default=0)

    def start(self) -> MemorySampler:
        threading.Thread(target=self._run, name="memory-sampler", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def sample(self) -> None:
        with self._lock:
            procs = dict(self._procs)
        for name, proc in procs.items():
            try:
                rss = proc.memory_info().rss
            except psutil.Error:
                continue
            key = (name, self.phase)
            self.peaks[key] = max(self.peaks[key], rss)
        memory = psutil.virtual_memory()
        self.system_used_peak = max(self.system_used_peak, memory.total - memory.available)
        self._check_guard(memory.available, procs)

    def _check_guard(self, available: int, procs: dict[str, psutil.Process]) -> None:
        guard = self.guard
        if guard is None or guard.tripped or available >= guard.min_available:
            return
        victim = procs.get(guard.name)
        if victim is None:
            return
        try:
            rss = victim.memory_info().rss
            victim.kill()
        except psutil.Error:
            return
        guard.tripped = (f"killed {guard.name} (pid {victim.pid}, RSS {rss / GIB:.1f} GiB) "
                         f"in phase {self.phase!r}: only {available / GIB:.1f} GiB of memory "
                         f"was left (floor {guard.min_available / GIB:.1f} GiB)")
