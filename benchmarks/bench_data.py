"""Does the tf.data pipeline cost throughput against NumPy arrays fed to ``model.fit``?

For ``zoo:mlp`` (digits as 64-pixel vectors) and ``zoo:lenet5`` (digits resized
to 32 x 32 x 1), one epoch of ``model.fit`` over the 1,438 training digits:

* **tf.data**: the pipeline of :func:`keras_blueprints.data.make_datasets`
  (cache, shuffle with a 1,024 buffer, batch, prefetch);
* **numpy**: ``model.fit(x, y, batch_size=..., shuffle=True)`` on the same arrays
  (the reference; Keras wraps them in its own data adapter).

Each variant has its own model (same blueprint, same seed), compiled as the
blueprint says. One untimed warm-up epoch each traces the training step; then
``--rounds`` rounds time one epoch of each variant, rotating which goes first.
Reported: examples per second (median over rounds) and the median over rounds
of the paired ratio tf.data / numpy of epoch times (below 1: the pipeline is
faster). Nothing is asserted.

Usage::

    python benchmarks/bench_data.py [--rounds 7] [--batch 64] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _common import describe, machine, table, time_alternating, warm_up

MODELS = {"mlp": "zoo:mlp", "lenet5": "zoo:lenet5"}


def variants_for(source: str, batch: int) -> tuple[dict[str, Any], int]:
    """The two one-epoch fits of a zoo model on digits, and the number of examples."""
    import keras

    import keras_blueprints as kb
    from keras_blueprints.data import load_examples, make_datasets
    from keras_blueprints.resolve.schema import DataSpec, SourceSpec

    bp = kb.load(source)
    spec = DataSpec(source=SourceSpec("digits"), batch_size=batch, shuffle=1024, cache=True)
    train = load_examples(bp, spec, base_dir=Path.cwd())["train"]
    x, y = train.x[bp.inputs[0].name], train.y
    keras.utils.set_random_seed(0)
    pipeline_model = kb.build(bp)
    keras.utils.set_random_seed(0)
    numpy_model = kb.build(bp)
    sets = make_datasets(bp, spec, base_dir=Path.cwd(), model=pipeline_model)

    def fit_pipeline() -> Any:
        return pipeline_model.fit(sets.train, epochs=1, verbose=0, shuffle=False)

    def fit_numpy() -> Any:
        return numpy_model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=True)

    return {"numpy": fit_numpy, "tf.data": fit_pipeline}, len(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    info = machine()
    rows, results = [], {}
    for name, source in MODELS.items():
        variants, count = variants_for(source, args.batch)
        warm_up(variants, reset=lambda: None, probe=lambda history: None)
        times = time_alternating(variants, args.rounds, reset=lambda: None)
        rate = {k: count / statistics.median(v) for k, v in times.items()}
        ratio = statistics.median(
            t / r for t, r in zip(times["tf.data"], times["numpy"], strict=True)
        )
        results[name] = {"examples": count, "seconds": times, "examples_per_s": rate}
        results[name]["paired_ratio"] = ratio
        rows.append(
            [
                source,
                f"{count:,}",
                f"{rate['numpy']:,.0f}",
                f"{rate['tf.data']:,.0f}",
                f"{ratio:.2f}",
            ]
        )
    print(describe(info))
    print(f"batch {args.batch}, {args.rounds} rounds, one epoch of the digits training split")
    print(
        table(
            ["model", "examples", "numpy ex/s", "tf.data ex/s", "tf.data / numpy time"],
            rows,
        )
    )
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "results": results}, indent=2))


if __name__ == "__main__":
    main()
