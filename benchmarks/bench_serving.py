"""Serving speed: the reloaded SavedModel's ``serving_default`` against the Keras model.

For each zoo model (untrained weights: speed does not depend on them) the script
exports a SavedModel with :func:`keras_blueprints.export.export_model` (which
verifies it), reloads it with ``tf.saved_model.load`` as a server would, and
times, on the same batch:

* ``saved_model``: ``signatures["serving_default"](**inputs)``, a graph function;
* ``keras_tf_function``: ``tf.function(lambda x: model(x, training=False))``, the
  Keras model traced once: like with like, both graphs;
* ``keras_predict``: ``model.predict_on_batch(x)`` for reference (Keras' own
  compiled predict step, as ``model.predict`` runs it, without its batching loop).

Latency is one example (batch 1); throughput is examples per second at batch 256.
Every variant is warmed up untimed, then the variants alternate in rotating order
for ``--rounds`` rounds (``_common.time_alternating``); medians are reported.
The ratio is SavedModel / Keras ``tf.function`` (goal at most 1.0).

    python benchmarks/bench_serving.py [--models mlp lenet5 resnet18] [--rounds 30]
                                        [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import _common

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

OVERRIDES = {"resnet18": ["params.size=64"]}
"""Smaller inputs for the larger models, so that a CPU run stays short."""


def _bench(name: str, rounds: int, batch: int) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    import keras_blueprints as kb
    from keras_blueprints.export import export_model

    keras.backend.clear_session()
    bp = kb.load(f"zoo:{name}", OVERRIDES.get(name, []))
    model = kb.build(bp, compile=False)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}.keras"
        model.save(path)
        result = export_model(path, Path(folder) / "sm", samples=8)
        loaded = tf.saved_model.load(str(Path(folder) / "sm"))
    serve = loaded.signatures["serving_default"]
    traced = tf.function(lambda *xs: model(xs[0] if len(xs) == 1 else list(xs), training=False))
    rng = np.random.default_rng(0)
    out: dict = {"max_abs_diff": result.max_abs_diff["serving_default"], "batches": {}}
    for size in (1, batch):
        x = {
            t.name: tf.constant(rng.normal(size=(size, *t.shape[1:])).astype(str(t.dtype)))
            for t in model.inputs
        }
        xs = [x[t.name] for t in model.inputs]
        feed = xs[0] if len(xs) == 1 else xs
        variants = {
            "saved_model": lambda x=x: serve(**x),
            "keras_tf_function": lambda xs=xs: traced(*xs),
            "keras_predict": lambda feed=feed: model.predict_on_batch(feed),
        }
        probes = _common.warm_up(variants, lambda: None, lambda r: None)
        del probes
        for _ in range(3):  # a few more untimed calls: caches, thread pools
            for fn in variants.values():
                fn()
        times = _common.time_alternating(variants, rounds, lambda: None)
        out["batches"][size] = {k: statistics.median(v) for k, v in times.items()}
        out["batches"][size]["samples"] = times
    return out


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmark and prints a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["mlp", "lenet5", "resnet18"])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args(argv)
    info = _common.machine()
    import tensorflow as tf

    devices = [d.name for d in tf.config.list_logical_devices()]
    results = {name: _bench(name, args.rounds, args.batch) for name in args.models}
    print(_common.describe(info, devices))
    print(f"median of {args.rounds} alternating rounds after warm-up; ratio = SavedModel / Keras "
          "tf.function")  # fmt: skip
    print()
    rows = []
    for name, res in results.items():
        one, many = res["batches"][1], res["batches"][args.batch]
        rows.append(
            [
                f"`zoo:{name}`",
                f"{one['saved_model'] * 1e3:.3f}",
                f"{one['keras_tf_function'] * 1e3:.3f}",
                f"{one['keras_predict'] * 1e3:.3f}",
                f"{one['saved_model'] / one['keras_tf_function']:.2f}",
                f"{args.batch / many['saved_model']:,.0f}",
                f"{args.batch / many['keras_tf_function']:,.0f}",
                f"{args.batch / many['keras_predict']:,.0f}",
                f"{many['saved_model'] / many['keras_tf_function']:.2f}",
                f"{res['max_abs_diff']:.1g}",
            ]
        )
    header = [
        "model",
        "batch 1 ms: SavedModel",
        "Keras tf.function",
        "Keras predict_on_batch",
        "ratio (time)",
        f"batch {args.batch} ex/s: SavedModel",
        "Keras tf.function",
        "Keras predict_on_batch",
        "ratio (time)",
        "export max diff",
    ]
    print(_common.table(header, rows))
    if args.json:
        info["load_average_1m_end"] = f"{os.getloadavg()[0]:.2f}"
        Path(args.json).write_text(
            json.dumps({"machine": info, "devices": devices, "results": results}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
