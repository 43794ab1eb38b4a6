"""What every benchmark script shares: the machine's description and Markdown tables.

The scripts run as ``python benchmarks/bench_NAME.py``, which puts this folder on
``sys.path``, so they import this module as ``_common``.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
from pathlib import Path


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


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
