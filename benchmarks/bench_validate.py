"""How fast is ``blueprint validate --no-build``, and does it stay TensorFlow-free?

For every zoo blueprint this measures the wall-clock time of a fresh process
running ``blueprint validate --no-build zoo:NAME`` (median of ``--runs``, after
one unmeasured warm-up run that also writes the bytecode caches). The goal is
under 0.5 s per blueprint. As reference points it times ``python -c pass`` (the
interpreter's start-up floor) and ``python -c "import keras_blueprints.cli"``
(the package's import cost), and the in-process ``keras_blueprints.load`` of
each blueprint (median of ``--load-runs``, after a warm-up call).

Every measured run is paired with a checked run: a small wrapper calls the
same ``main()`` and exits 3 if ``tensorflow`` or ``keras`` is in
``sys.modules`` afterwards. If that ever happens the benchmark says so and
exits 1. The time goal is reported, never asserted.

The command is ``python -m keras_blueprints.cli`` when that works; otherwise
(the module registers its commands on a second copy of itself when run as
``__main__``) the ``blueprint`` console script of this environment, run with
the same interpreter.

Usage::

    python benchmarks/bench_validate.py [--runs 5] [--load-runs 200] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from _common import describe, machine, table

GOAL_S = 0.5
TF_IMPORTED = 3

CHECK_WRAPPER = """\
import sys
from keras_blueprints.cli import main
rc = main(sys.argv[1:])
leaked = [m for m in ("tensorflow", "keras") if m in sys.modules]
if leaked:
    print("imported: " + ", ".join(leaked), file=sys.stderr)
    sys.exit(3)
sys.exit(rc)
"""


def run_once(argv: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, proc


def timed(argv: list[str], runs: int) -> list[float]:
    """Times ``argv`` ``runs`` times after one warm-up; raises if it fails."""
    samples = []
    for index in range(runs + 1):
        seconds, proc = run_once(argv)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr}")
        if index:
            samples.append(seconds)
    return samples


def validate_command(probe: str) -> tuple[list[str], str]:
    """Returns the argv prefix that runs the CLI, and a note when it is the fallback."""
    module = [sys.executable, "-m", "keras_blueprints.cli"]
    proc = subprocess.run(
        [*module, "validate", "--no-build", probe], capture_output=True, text=True, check=False
    )
    if proc.returncode == 0:
        return module, ""
    scripts = Path(sysconfig.get_path("scripts"))
    script = scripts / "blueprint"
    if not script.is_file():
        script = Path(sys.executable).parent / "blueprint"
    if not script.is_file():
        raise RuntimeError(
            "neither 'python -m keras_blueprints.cli' nor the 'blueprint' script works:\n"
            + proc.stderr
        )
    lines = proc.stderr.strip().splitlines() or ["(no output)"]
    last = next((line for line in reversed(lines) if "error" in line.lower()), lines[-1])
    note = (
        f"`python -m keras_blueprints.cli` exited {proc.returncode} ({last.strip()}); "
        f"timed the console script `{script}` instead."
    )
    return [sys.executable, str(script)], note


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="process runs per blueprint (median)")
    parser.add_argument(
        "--load-runs", type=int, default=200, help="in-process load() calls (median)"
    )
    parser.add_argument("--json", metavar="OUT", help="write the raw numbers to this file")
    args = parser.parse_args(argv)
    info = machine()
    if args.runs < 1 or args.load_runs < 1:
        parser.error(
            f"--runs and --load-runs must be positive. Received: {args.runs}, {args.load_runs}"
        )

    import keras_blueprints
    from keras_blueprints import zoo

    names = zoo.names()
    if not names:
        print("no zoo blueprints found", file=sys.stderr)
        return 1
    cli, note = validate_command(f"zoo:{names[0]}")
    floor = timed([sys.executable, "-c", "pass"], args.runs)
    imports = timed([sys.executable, "-c", "import keras_blueprints.cli"], args.runs)

    results = []
    leaks = []
    for name in names:
        target = f"zoo:{name}"
        samples, checked = [], []
        for _ in range(args.runs + 1):  # the first pair is the warm-up
            seconds, proc = run_once([*cli, "validate", "--no-build", target])
            if proc.returncode != 0:
                print(
                    f"{target}: validate exited {proc.returncode}:\n{proc.stderr}", file=sys.stderr
                )
                return 1
            samples.append(seconds)
            check_s, check = run_once(
                [sys.executable, "-c", CHECK_WRAPPER, "validate", "--no-build", target]
            )
            checked.append(check_s)
            if check.returncode == TF_IMPORTED:
                leaks.append(f"{target}: {check.stderr.strip()}")
            elif check.returncode != 0:
                print(
                    f"{target}: checked run exited {check.returncode}:\n{check.stderr}",
                    file=sys.stderr,
                )
                return 1
        samples, checked = samples[1:], checked[1:]

        bp = keras_blueprints.load(target)  # warm-up: first-use caches
        load_samples = []
        for _ in range(args.load_runs):
            start = time.perf_counter()
            keras_blueprints.load(target)
            load_samples.append(time.perf_counter() - start)
        results.append(
            {
                "name": name,
                "nodes": len(bp.nodes),
                "process_s": samples,
                "checked_process_s": checked,
                "load_s": load_samples,
                "goal_met": statistics.median(samples) < GOAL_S,
            }
        )
    for module in ("tensorflow", "keras"):
        if module in sys.modules:  # load() in this process must not import it either
            leaks.append(f"in-process keras_blueprints.load(): imported {module}")

    rows = [
        ["`python -c pass` (floor)", "", f"{median_ms(floor):.0f}", "", ""],
        ["`import keras_blueprints.cli`", "", f"{median_ms(imports):.0f}", "", ""],
    ]
    for r in results:
        rows.append(
            [
                f"`zoo:{r['name']}`",
                str(r["nodes"]),
                f"{median_ms(r['process_s']):.0f}",
                f"{median_ms(r['load_s']):.2f}",
                "yes" if r["goal_met"] else "**NO**",
            ]
        )
    header = ["process", "nodes", "wall ms (median)", "load() ms in-process", f"< {GOAL_S} s"]
    print(
        f"validate --no-build, median of {args.runs} runs; load() median of {args.load_runs} calls"
    )
    print(
        f"command: `{' '.join(Path(a).name if a == sys.executable else a for a in cli)} "
        "validate --no-build zoo:NAME`"
    )
    if note:
        print(f"note: {note}")
    print()
    print(table(header, rows))
    print()
    print(describe(info))
    print()
    if leaks:
        print("FAILURE: TensorFlow/Keras was imported by validate --no-build:", file=sys.stderr)
        for leak in leaks:
            print(f"  {leak}", file=sys.stderr)
    else:
        print(f"TensorFlow/Keras imported: never ({len(names) * (args.runs + 1)} checked runs)")

    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "benchmark": "validate",
                    "machine": info,
                    "load_average_1m_end": f"{os.getloadavg()[0]:.2f}",
                    "goal_s": GOAL_S,
                    "command": cli,
                    "note": note,
                    "runs": args.runs,
                    "python_pass_s": floor,
                    "import_cli_s": imports,
                    "blueprints": results,
                    "tensorflow_imported": leaks,
                },
                indent=2,
            )
            + "\n"
        )
    return 1 if leaks else 0


if __name__ == "__main__":
    sys.exit(main())
