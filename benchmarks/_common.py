"""What every benchmark script shares: the machine's description and Markdown tables.

The scripts run as ``python benchmarks/bench_NAME.py``, which puts this folder on
``sys.path``, so they import this module as ``_common``.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def machine() -> dict[str, str]:
    """Cores, CPU model, Python, TensorFlow and Keras versions, and the load average now."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_1m": f"{os.getloadavg()[0]:.2f}",
    }
    for dist in ("tensorflow", "keras"):
        try:
            info[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            info[dist] = "not installed"
    return info


def describe(info: dict[str, str], devices: list[str] | None = None) -> str:
    """One line naming the machine, for the top of a result table."""
    on = f"devices: {', '.join(devices)}; " if devices else ""
    return (
        f"machine: {info['nproc']} cores, {info['cpu']}; Python {info['python']}, "
        f"TensorFlow {info['tensorflow']}, Keras {info['keras']}; "
        f"{on}1-min load average at start {info['load_average_1m']}"
    )


def rotated(index: int, order: list[str]) -> list[str]:
    """``order`` rotated by ``index``: each variant goes first in turn, round after round."""
    shift = index % len(order)
    return order[shift:] + order[:shift]


def warm_up(
    variants: dict[str, Callable[[], Any]], reset: Callable[[], None], probe: Callable[[Any], Any]
) -> dict[str, Any]:
    """Builds each variant once, untimed, and returns ``probe`` of each result (to compare them)."""
    probes = {}
    for key, make in variants.items():
        reset()
        probes[key] = probe(make())
    return probes


def time_alternating(
    variants: dict[str, Callable[[], Any]], rounds: int, reset: Callable[[], None]
) -> dict[str, list[float]]:
    """Times every variant once a round, in rotating order, ``reset()`` before each.

    Returns:
        Seconds per variant, one sample a round.
    """
    order = list(variants)
    times: dict[str, list[float]] = {key: [] for key in order}
    for round_ in range(1, rounds + 1):
        for key in rotated(round_, order):
            reset()
            start = time.perf_counter()
            result = variants[key]()
            times[key].append(time.perf_counter() - start)
            del result
    return times


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
