"""Hopfield recall against load: where the capacity of about 0.14 N shows.

``zoo:hopfield`` with ``N`` units (``--units``, default 100) stores ``P`` random
``+-1`` patterns (the built-in ``memories`` source, ``patterns: random``) by
``blueprint train``'s ``hopfield`` rule, then recalls each from ``--copies``
corrupted copies (``--flip`` of the units flipped) with the model itself
(asynchronous updates, ``--sweeps`` sweeps). For each load ``P/N`` it reports the
mean overlap (share of units right after recall, the compiled ``Accuracy``) and
the share of copies recalled exactly, averaged over ``--seeds`` seeds. With
``--png`` it draws both curves against the load, the line at 0.14 marked.

Usage::

    python benchmarks/bench_hopfield.py [--units 100] [--loads 0.02 0.05 ...] [--png OUT]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

LOADS = (0.02, 0.05, 0.08, 0.10, 0.12, 0.14, 0.16, 0.20, 0.25, 0.30)


def measure(units: int, count: int, flip: float, copies: int, sweeps: int, seed: int):
    """One run of ``blueprint train`` on ``zoo:hopfield``; returns (overlap, exact recall)."""
    import keras_blueprints as kb
    from keras_blueprints.data import make_datasets
    from keras_blueprints.training.run import train

    overrides = [
        f"params.units={units}",
        f"params.sweeps={sweeps}",
        f"train.seed={seed}",
        f"data.source={{memories: {{patterns: random, count: {count}, flip: {flip},"
        f" copies: {copies}}}}}",
    ]
    with tempfile.TemporaryDirectory() as run_dir:
        result = train("zoo:hopfield", overrides, run_dir=Path(run_dir) / "run", verbose=0)
        bp = kb.load("zoo:hopfield", overrides)
        test = make_datasets(bp, seed=seed, model=result.model).test
        recalled, clean = [], []
        for x, y in test.as_numpy_iterator():
            recalled.append(result.model.predict_on_batch(x))
            clean.append(y)
    recalled, clean = np.concatenate(recalled), np.concatenate(clean)
    return float(np.mean(recalled == clean)), float(np.mean(np.all(recalled == clean, axis=1)))


def main() -> None:
    """Measures recall against load and prints the Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--loads", type=float, nargs="+", default=LOADS)
    parser.add_argument("--flip", type=float, default=0.1)
    parser.add_argument("--copies", type=int, default=5)
    parser.add_argument("--sweeps", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--png", type=Path)
    args = parser.parse_args()
    rows = []
    print("| load P/N | P | mean overlap after recall | copies recalled exactly |")
    print("|---|---|---|---|")
    for load in args.loads:
        count = max(1, round(load * args.units))
        runs = [
            measure(args.units, count, args.flip, args.copies, args.sweeps, seed)
            for seed in range(args.seeds)
        ]
        overlap, exact = np.mean(runs, axis=0)
        rows.append((count / args.units, overlap, exact))
        print(f"| {count / args.units:.2f} | {count} | {overlap:.3f} | {exact:.2f} |", flush=True)
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        loads, overlaps, exacts = zip(*rows, strict=True)
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(loads, overlaps, "o-", label="mean overlap after recall")
        ax.plot(loads, exacts, "s-", label="copies recalled exactly")
        ax.axvline(0.14, color="grey", linestyle="--", label="0.14 N")
        ax.set_xlabel("load P / N")
        ax.set_ylabel("recall")
        ax.set_title(f"Hopfield recall, N = {args.units}, {args.flip:.0%} of units flipped")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.png, dpi=100)


if __name__ == "__main__":
    main()
