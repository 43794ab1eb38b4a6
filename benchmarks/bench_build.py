"""Does building from a blueprint cost more than writing the model in Keras?

For each case the same model is built three ways, in the same process:

* **keras**: written directly with ``keras.layers`` (the reference);
* **build_model**: ``build_model(bp)`` from a blueprint loaded beforehand,
  i.e. the builder's own overhead;
* **build**: ``keras_blueprints.build(source)`` end to end, YAML load and
  resolution included.

Each build compiles the model (the blueprint's ``compile:`` section; the same
settings by hand). A round builds all three, rotating which goes first, each
after ``keras.backend.clear_session()`` (not timed); one unmeasured warm-up
round precedes ``--rounds`` measured ones, and the table gives medians and the
ratios of the medians to the reference. The goal is a ratio under 1.05 for
``build_model``; it is reported, never asserted.

The models of the warm-up round are compared first (model name, parameter
count, and per layer: name, class, output shape, parameter count and config,
then the compile config). If a twin differs from its blueprint the comparison
would not be fair: the benchmark says how and exits 1.

Cases: every zoo blueprint that has a hand-written twin here (LeNet-5, the
MLP), plus a VGG-like network written below as YAML text with nested
``repeat:`` and ``${}`` expressions. A zoo blueprint without a twin is timed
through the blueprint paths only and listed without a ratio.

Usage::

    python benchmarks/bench_build.py [--rounds 15] [--only NAME ...] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import describe, machine, table, time_alternating, warm_up

GOAL_RATIO = 1.05

VGG_YAML = """\
name: vgg_like
description: A VGG-style stack (5 stages of 2 x conv3x3 + max-pool, then a dense head).
params:
  size: 64
  base: 64          # filters of the first stage, doubled per stage up to 512
  stages: 5
  convs: 2          # convolutions per stage
  width: 512        # units of the dense head
  classes: 100
inputs:
  image: {shape: ["${size}", "${size}", 3]}
graph:
  - repeat: ${stages}
    as: s
    graph:
      - repeat: ${convs}
        as: c
        graph:
          - name: block${s + 1}_conv${c + 1}
            Conv2D:
              filters: "${min(base * 2 ** s, 512)}"
              kernel_size: 3
              padding: same
              activation: relu
      - name: block${s + 1}_pool
        MaxPooling2D: {pool_size: 2}
  - name: flatten
    Flatten: {}
  - repeat: 2
    graph:
      - name: fc${i + 1}
        Dense: {units: "${width}", activation: relu}
  - name: predictions
    Dense: {units: "${classes}", activation: softmax}
compile:
  optimizer: {adam: {learning_rate: 0.001}}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
"""


def _compile(keras: Any, model: Any) -> Any:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.001),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def lenet5_keras(keras: Any) -> Any:
    """``blueprints/lenet5.yaml`` with its default parameters, by hand."""
    layers = keras.layers
    image = keras.Input(shape=(32, 32, 1), name="image")
    x = layers.Conv2D(6, 5, activation="tanh", name="c1")(image)
    x = layers.AveragePooling2D(2, name="s2")(x)
    x = layers.Conv2D(16, 5, activation="tanh", name="c3")(x)
    x = layers.AveragePooling2D(2, name="s4")(x)
    x = layers.Conv2D(120, 5, activation="tanh", name="c5")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(84, activation="tanh", name="f6")(x)
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return _compile(keras, keras.Model(image, outputs, name="lenet5"))


def mlp_keras(keras: Any) -> Any:
    """``blueprints/mlp.yaml`` with its default parameters, by hand."""
    layers = keras.layers
    features = keras.Input(shape=(64,), dtype="float32", name="features")
    x = layers.Dense(128, activation="relu", name="hidden1")(features)
    x = layers.Dropout(0.2, name="dropout1")(x)
    x = layers.Dense(64, activation="relu", name="hidden2")(x)
    x = layers.Dropout(0.2, name="dropout2")(x)
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return _compile(keras, keras.Model(features, outputs, name="mlp"))


def vgg_keras(keras: Any) -> Any:
    """``VGG_YAML`` with its default parameters, by hand."""
    layers = keras.layers
    image = keras.Input(shape=(64, 64, 3), name="image")
    x = image
    for stage in range(5):
        filters = min(64 * 2**stage, 512)
        for conv in range(2):
            x = layers.Conv2D(
                filters,
                3,
                padding="same",
                activation="relu",
                name=f"block{stage + 1}_conv{conv + 1}",
            )(x)
        x = layers.MaxPooling2D(2, name=f"block{stage + 1}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(512, activation="relu", name="fc1")(x)
    x = layers.Dense(512, activation="relu", name="fc2")(x)
    outputs = layers.Dense(100, activation="softmax", name="predictions")(x)
    return _compile(keras, keras.Model(image, outputs, name="vgg_like"))


TWINS: dict[str, Callable[[Any], Any]] = {"lenet5": lenet5_keras, "mlp": mlp_keras}
"""Hand-written twins of zoo blueprints, by zoo name."""


@dataclass
class Case:
    name: str
    source: Any  # what keras_blueprints.build() receives: a path or YAML text
    twin: Callable[[Any], Any] | None
    times: dict[str, list[float]] = field(default_factory=dict)
    params: int = 0
    layers: int = 0
    summary: dict[str, Any] = field(default_factory=dict)


def summarize(times: dict[str, list[float]]) -> dict[str, Any]:
    """Medians in ms and, when there is a hand-written reference, the ratios to it.

    The headline ratio pairs the builds of one round (they ran back to back) and
    takes the median over rounds, so a slow spell on a busy machine affects
    both sides of a pair; the ratio of the minima is the other robust view.
    """
    summary: dict[str, Any] = {
        "median_ms": {key: statistics.median(values) * 1000 for key, values in times.items()}
    }
    if "keras" in times:
        reference = times["keras"]
        others = [key for key in times if key != "keras"]
        summary["paired_ratio"] = {
            key: statistics.median(t / r for t, r in zip(times[key], reference, strict=True))
            for key in others
        }
        summary["ratio_of_minima"] = {key: min(times[key]) / min(reference) for key in others}
    return summary


def signature(model: Any) -> dict[str, Any]:
    """What must match for the two builds to be the same model."""
    return {
        "model name": model.name,
        "parameters": model.count_params(),
        "layers": [
            {
                "name": layer.name,
                "class": type(layer).__name__,
                "output shape": tuple(layer.output.shape),
                "parameters": layer.count_params(),
                "config": layer.get_config(),
            }
            for layer in model.layers
        ],
        "compile": model.get_compile_config(),
    }


def _changed(where: str, a: Any, b: Any) -> list[str]:
    """The differing entries of two values, descending into dicts."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            line
            for key in dict.fromkeys([*a, *b])
            for line in _changed(f"{where}.{key}", a.get(key, "<missing>"), b.get(key, "<missing>"))
        ]
    return [] if a == b else [f"{where}: keras {a!r}, blueprint {b!r}"]


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Human-readable differences between two signatures (keras vs blueprint)."""
    found = [
        line
        for key in ("model name", "parameters", "compile")
        for line in _changed(key, a[key], b[key])
    ]
    names_a = [layer["name"] for layer in a["layers"]]
    names_b = [layer["name"] for layer in b["layers"]]
    if names_a != names_b:
        found.append(f"layer names: keras {names_a}, blueprint {names_b}")
        return found
    for la, lb in zip(a["layers"], b["layers"], strict=True):
        found += _changed(f"layer {la['name']!r}", la, lb)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="measured rounds (median)")
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run only these cases (repeatable)"
    )
    parser.add_argument("--json", metavar="OUT", help="write the raw numbers to this file")
    args = parser.parse_args(argv)
    info = machine()
    if args.rounds < 1:
        parser.error(f"--rounds must be positive. Received: {args.rounds}")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    import keras_blueprints
    from keras_blueprints import zoo
    from keras_blueprints.builders.model import build_model

    cases = [Case(name, zoo.path(name), TWINS.get(name)) for name in zoo.names()]
    cases.append(Case("vgg_like (inline YAML)", VGG_YAML, vgg_keras))
    if args.only:
        cases = [c for c in cases if c.name.split()[0] in args.only]
        if not cases:
            parser.error(f"no case matches --only. Received: {args.only}")

    failures = []
    for case in cases:
        bp = keras_blueprints.load(case.source)
        variants: dict[str, Callable[[], Any]] = {
            "build_model": lambda bp=bp: build_model(bp),
            "build": lambda case=case: keras_blueprints.build(case.source),
        }
        if case.twin is not None:
            variants = {"keras": lambda case=case: case.twin(keras), **variants}
        order = list(variants)
        built = warm_up(variants, keras.backend.clear_session, signature)
        case.params = built["build_model"]["parameters"]
        case.layers = len(built["build_model"]["layers"])
        reference = built["keras"] if case.twin is not None else built["build_model"]
        mismatched = [(key, differences(reference, built[key])) for key in order[1:]]
        failures += [(case.name, key, found) for key, found in mismatched if found]
        if not any(found for _, found in mismatched):
            case.times = time_alternating(variants, args.rounds, keras.backend.clear_session)
        keras.backend.clear_session()

    if failures:
        for name, key, found in failures:
            print(
                f"FAILURE: {name}: the '{key}' model is not the hand-written one:", file=sys.stderr
            )
            for line in found:
                print(f"  {line}", file=sys.stderr)
        return 1

    rows = []
    for case in cases:
        case.summary = summarize(case.times)
        med = case.summary["median_ms"]
        if "keras" in med:
            ratio, minima = case.summary["paired_ratio"], case.summary["ratio_of_minima"]
            cells = [
                f"{med['keras']:.1f}",
                f"{med['build_model']:.1f}",
                f"{ratio['build_model']:.3f}",
                f"{minima['build_model']:.3f}",
                f"{med['build']:.1f}",
                f"{ratio['build']:.3f}",
                "yes" if ratio["build_model"] < GOAL_RATIO else "**NO**",
            ]
        else:
            cells = [
                "(no twin)",
                f"{med['build_model']:.1f}",
                "",
                "",
                f"{med['build']:.1f}",
                "",
                "",
            ]
        rows.append([f"`{case.name}`", str(case.layers), f"{case.params:,}", *cells])
    header = [
        "case",
        "layers",
        "params",
        "keras ms",
        "build_model ms",
        "ratio",
        "ratio of minima",
        "build(source) ms",
        "ratio",
        f"build_model < {GOAL_RATIO}x",
    ]
    print(
        f"build + compile, same process, 1 warm-up + {args.rounds} measured rounds; ms are medians,"
        " a ratio is the median over rounds of (time / keras time in the same round)"
    )
    print()
    print(table(header, rows))
    print()
    print(describe(info))
    print()
    print("twins equivalent: yes (name, parameters, per-layer class/shape/config, compile config)")

    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "benchmark": "build",
                    "machine": info,
                    "load_average_1m_end": f"{os.getloadavg()[0]:.2f}",
                    "goal_ratio": GOAL_RATIO,
                    "rounds": args.rounds,
                    "cases": [
                        {
                            "name": c.name,
                            "layers": c.layers,
                            "parameters": c.params,
                            "seconds": c.times,
                            **c.summary,
                        }
                        for c in cases
                    ],
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
