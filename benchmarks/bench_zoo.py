"""Are the zoo models that mirror keras.applications as cheap as keras.applications?

For each zoo blueprint that mirrors a ``keras.applications`` model, in one process:

* **build**: ``keras_blueprints.build(bp, compile=False)`` from a blueprint loaded
  beforehand, against the ``keras.applications`` constructor with
  ``weights=None`` and the same input shape (the reference). A round builds the
  reference, the blueprint and, with no goal, the end-to-end
  ``keras_blueprints.build("zoo:NAME", overrides, compile=False)`` (YAML load and
  resolution included), each after ``keras.backend.clear_session()`` (not timed),
  rotating which goes first; one unmeasured warm-up round precedes ``--rounds``
  measured ones. Goal: median over rounds of (blueprint / reference time in the
  same round) under 1.05.
* **training step**: both models compiled the same way (SGD(0.01), sparse
  categorical crossentropy, no metrics, ``jit_compile=False`` so that the two
  TensorFlow graphs are compared, not what XLA makes of them), the reference's
  weights copied into the blueprint model by layer name, then ``train_on_batch``
  on the same random batch (``--batch`` images of the model's size, random
  labels). The first call of each traces the step; one more unmeasured call
  follows, then ``--steps`` measured steps per model, alternating which goes
  first. Goal: median over steps of the paired ratio under 1.02.

The run is invalid, and the script exits 1 after saying why, if a blueprint model
and its reference differ in parameter count, layer names (in order), layer
classes or output shapes, or if the loss of their first training step (same
weights, same batch) differs by more than 1e-4. Goals are reported, never
asserted.

``--size N`` builds every model at N x N (raised to the smallest size its
``keras.applications`` constructor accepts, and said so); ``--only NAME`` runs
some models only; ``--variants`` adds ResNet101/152 and DenseNet169/201, which
are ``zoo:resnet50`` and ``zoo:densenet121`` with other ``params.stages`` /
``params.blocks``.

Usage::

    python benchmarks/bench_zoo.py [--rounds 5] [--steps 10] [--batch 8] [--size N]
        [--only NAME ...] [--variants] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import describe, machine, rotated, table, time_alternating, warm_up

BUILD_GOAL = 1.05
STEP_GOAL = 1.02
LOSS_TOLERANCE = 1e-4
LEARNING_RATE = 0.01


@dataclass(frozen=True)
class Mirror:
    """A zoo blueprint (with overrides) and the keras.applications model it mirrors."""

    name: str
    zoo: str
    application: str
    size: int  # the default input size
    smallest: int  # the smallest size the keras.applications constructor accepts
    overrides: tuple[str, ...] = ()
    variant: bool = False


MIRRORS = [
    Mirror("resnet50", "resnet50", "ResNet50", 224, 32),
    Mirror("resnet50_v2", "resnet50_v2", "ResNet50V2", 224, 32),
    Mirror("densenet121", "densenet121", "DenseNet121", 224, 32),
    Mirror("inception_v3", "inception_v3", "InceptionV3", 299, 75),
    Mirror("vgg16", "vgg16", "VGG16", 224, 32),
    Mirror("vgg19", "vgg19", "VGG19", 224, 32),
    Mirror("xception", "xception", "Xception", 299, 71),
    Mirror("mobilenet_v2", "mobilenet_v2", "MobileNetV2", 224, 32),
    Mirror("resnet101", "resnet50", "ResNet101", 224, 32, ("params.stages=[3,4,23,3]",), True),
    Mirror("resnet152", "resnet50", "ResNet152", 224, 32, ("params.stages=[3,8,36,3]",), True),
    Mirror(
        "densenet169", "densenet121", "DenseNet169", 224, 32, ("params.blocks=[6,12,32,32]",), True
    ),
    Mirror(
        "densenet201", "densenet121", "DenseNet201", 224, 32, ("params.blocks=[6,12,48,32]",), True
    ),
]


@dataclass
class Result:
    mirror: Mirror
    size: int
    overrides: tuple[str, ...]
    layers: int = 0
    params: int = 0
    build_seconds: dict[str, list[float]] = field(default_factory=dict)
    step_seconds: dict[str, list[float]] = field(default_factory=dict)
    first_call_seconds: dict[str, float] = field(default_factory=dict)
    first_loss: dict[str, float] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return "zoo:" + self.mirror.zoo + "".join(f" {o}" for o in self.overrides)


def paired(times: dict[str, list[float]], reference: str = "keras") -> dict[str, Any]:
    """Medians in ms, the median over rounds of the paired ratio, the ratio of minima."""
    others = [key for key in times if key != reference]
    ref = times[reference]
    return {
        "median_ms": {key: statistics.median(v) * 1000 for key, v in times.items()},
        "paired_ratio": {
            key: statistics.median(t / r for t, r in zip(times[key], ref, strict=True))
            for key in others
        },
        "ratio_of_minima": {key: min(times[key]) / min(ref) for key in others},
    }


def signature(model: Any) -> dict[str, Any]:
    """What must match for the two models to be the same graph."""
    return {
        "parameters": model.count_params(),
        "layers": [
            (layer.name, type(layer).__name__, str(tuple(layer.output.shape)))
            for layer in model.layers
        ],
    }


def differences(keras_sig: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    """Human-readable differences between two signatures (keras vs blueprint)."""
    found = []
    if keras_sig["parameters"] != ours["parameters"]:
        found.append(
            f"parameters: keras {keras_sig['parameters']:,}, blueprint {ours['parameters']:,}"
        )
    a, b = keras_sig["layers"], ours["layers"]
    if [x[0] for x in a] != [x[0] for x in b]:
        first = next(
            (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x[0] != y[0]),
            min(len(a), len(b)),
        )
        found.append(
            f"layer names: {len(a)} in keras, {len(b)} in the blueprint; first difference at"
            f" index {first}: keras {a[first][0] if first < len(a) else '<none>'!r},"
            f" blueprint {b[first][0] if first < len(b) else '<none>'!r}"
        )
        return found
    for (name, cls_a, shape_a), (_, cls_b, shape_b) in zip(a, b, strict=True):
        if cls_a != cls_b:
            found.append(f"layer {name!r} class: keras {cls_a}, blueprint {cls_b}")
        if shape_a != shape_b:
            found.append(f"layer {name!r} output shape: keras {shape_a}, blueprint {shape_b}")
    return found


def time_builds(
    keras: Any, result: Result, variants: dict[str, Callable[[], Any]], rounds: int
) -> list[str]:
    """Times the builds; returns the differences found in the warm-up round."""
    built = warm_up(variants, keras.backend.clear_session, signature)
    result.params = built["keras"]["parameters"]
    result.layers = len(built["keras"]["layers"])
    found = [
        f"{key}: {line}"
        for key in list(variants)[1:]
        for line in differences(built["keras"], built[key])
    ]
    if found:
        return found
    result.build_seconds = time_alternating(variants, rounds, keras.backend.clear_session)
    keras.backend.clear_session()
    return []


def time_steps(
    keras: Any,
    result: Result,
    models: dict[str, Any],
    batch: int,
    steps: int,
) -> list[str]:
    """Compiles both models alike, times train_on_batch; returns a loss mismatch if any."""
    import numpy as np

    rng = np.random.default_rng(0)
    size = result.size
    x = rng.standard_normal((batch, size, size, 3)).astype("float32")
    classes = int(models["keras"].output.shape[-1])
    y = rng.integers(0, classes, size=(batch,))
    for model in models.values():
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE),
            loss="sparse_categorical_crossentropy",
            jit_compile=False,
        )
    order = list(models)
    for key in order:  # the first call traces; its loss is compared
        start = time.perf_counter()
        logs = models[key].train_on_batch(x, y, return_dict=True)
        result.first_call_seconds[key] = time.perf_counter() - start
        result.first_loss[key] = float(logs["loss"])
    for key in order:  # one more unmeasured call each
        models[key].train_on_batch(x, y)
    result.step_seconds = {key: [] for key in order}
    for step in range(steps):
        for key in rotated(step, order):
            start = time.perf_counter()
            models[key].train_on_batch(x, y)
            result.step_seconds[key].append(time.perf_counter() - start)
    diff = abs(result.first_loss["keras"] - result.first_loss["blueprint"])
    if not diff <= LOSS_TOLERANCE:  # also catches NaN
        return [
            f"first-step loss: keras {result.first_loss['keras']!r}, blueprint "
            f"{result.first_loss['blueprint']!r} (difference {diff:.3g} > {LOSS_TOLERANCE})"
        ]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="measured build rounds (median)")
    parser.add_argument("--steps", type=int, default=10, help="measured training steps per model")
    parser.add_argument("--batch", type=int, default=8, help="images per training step")
    parser.add_argument("--size", type=int, help="input height and width (default: each model's)")
    names = [m.name for m in MIRRORS]
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"run only these models (repeatable): {', '.join(names)}",
    )
    parser.add_argument(
        "--variants", action="store_true", help="add ResNet101/152 and DenseNet169/201"
    )
    parser.add_argument(
        "--no-train", action="store_true", help="time the builds only (no training step)"
    )
    parser.add_argument("--json", metavar="OUT", help="write every sample to this file")
    args = parser.parse_args(argv)
    for option in ("rounds", "steps", "batch"):
        if getattr(args, option) < 1:
            parser.error(f"--{option} must be positive. Received: {getattr(args, option)}")
    if args.size is not None and args.size < 1:
        parser.error(f"--size must be positive. Received: {args.size}")
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            parser.error(f"unknown --only {unknown}. Expected some of: {', '.join(names)}")
        mirrors = [m for m in MIRRORS if m.name in args.only]
    else:
        mirrors = [m for m in MIRRORS if args.variants or not m.variant]
    info = machine()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    import keras_blueprints as kb

    devices = [d.name.removeprefix("/physical_device:") for d in tf.config.list_physical_devices()]

    results: list[Result] = []
    failures: list[tuple[str, list[str]]] = []
    notes: list[str] = []
    for mirror in mirrors:
        size = mirror.size if args.size is None else max(args.size, mirror.smallest)
        if args.size is not None and size != args.size:
            notes.append(f"{mirror.name}: --size {args.size} raised to {size}, its smallest")
        overrides = mirror.overrides + ((f"params.size={size}",) if size != mirror.size else ())
        result = Result(mirror, size, overrides)
        results.append(result)
        print(f"{mirror.name} at {size}x{size}: builds ...", file=sys.stderr, flush=True)

        bp = kb.load(f"zoo:{mirror.zoo}", overrides)
        application = getattr(keras.applications, mirror.application)
        shape = (size, size, 3)

        def reference(application: Any = application, shape: tuple[int, ...] = shape) -> Any:
            return application(weights=None, input_shape=shape)

        variants: dict[str, Callable[[], Any]] = {
            "keras": reference,
            "blueprint": lambda bp=bp: kb.build(bp, compile=False),
            "end_to_end": lambda m=mirror, o=overrides: kb.build(f"zoo:{m.zoo}", o, compile=False),
        }
        found = time_builds(keras, result, variants, args.rounds)
        if found:
            failures.append((mirror.name, found))
            continue
        result.summary["build"] = paired(result.build_seconds)
        if args.no_train:
            continue

        print(f"{mirror.name}: training steps ...", file=sys.stderr, flush=True)
        keras.backend.clear_session()
        models = {"keras": reference(), "blueprint": kb.build(bp, compile=False)}
        for layer in models["keras"].layers:
            weights = layer.get_weights()
            if weights:
                models["blueprint"].get_layer(layer.name).set_weights(weights)
        found = time_steps(keras, result, models, args.batch, args.steps)
        del models
        keras.backend.clear_session()
        if found:
            failures.append((mirror.name, found))
            continue
        result.summary["step"] = paired(result.step_seconds)

    if failures:
        for name, found in failures:
            print(f"FAILURE: {name}: the blueprint model is not its reference:", file=sys.stderr)
            for line in found:
                print(f"  {line}", file=sys.stderr)

    build_rows, step_rows = [], []
    for r in results:
        if "build" not in r.summary:
            continue
        med = r.summary["build"]["median_ms"]
        ratio = r.summary["build"]["paired_ratio"]
        minima = r.summary["build"]["ratio_of_minima"]
        build_rows.append(
            [
                f"`{r.mirror.name}`",
                str(r.size),
                str(r.layers),
                f"{r.params:,}",
                f"{med['keras']:.0f}",
                f"{med['blueprint']:.0f}",
                f"{ratio['blueprint']:.3f}",
                f"{minima['blueprint']:.3f}",
                f"{med['end_to_end']:.0f}",
                f"{ratio['end_to_end']:.3f}",
                "yes" if ratio["blueprint"] < BUILD_GOAL else "**NO**",
            ]
        )
        if "step" not in r.summary:
            continue
        med = r.summary["step"]["median_ms"]
        ratio = r.summary["step"]["paired_ratio"]
        minima = r.summary["step"]["ratio_of_minima"]
        step_rows.append(
            [
                f"`{r.mirror.name}`",
                str(r.size),
                f"{r.first_call_seconds['keras']:.1f}",
                f"{r.first_call_seconds['blueprint']:.1f}",
                f"{med['keras']:.0f}",
                f"{med['blueprint']:.0f}",
                f"{ratio['blueprint']:.3f}",
                f"{minima['blueprint']:.3f}",
                f"{abs(r.first_loss['keras'] - r.first_loss['blueprint']):.1e}",
                "yes" if ratio["blueprint"] < STEP_GOAL else "**NO**",
            ]
        )

    print(
        f"build (compile=False), same process, 1 warm-up + {args.rounds} measured rounds,"
        " clear_session() before each build; ms are medians, a ratio is the median over"
        " rounds of (time / keras.applications time in the same round)"
    )
    print()
    print(
        table(
            [
                "model",
                "size",
                "layers",
                "params",
                "keras.applications ms",
                "build(bp) ms",
                "ratio",
                "ratio of minima",
                'build("zoo:…") ms',
                "ratio",
                f"build(bp) < {BUILD_GOAL}x",
            ],
            build_rows,
        )
    )
    if step_rows:
        print()
        print(
            f"train_on_batch, batch {args.batch}, SGD({LEARNING_RATE}), sparse categorical"
            " crossentropy, jit_compile=False; first call (traces) and one more unmeasured,"
            f" then {args.steps} measured steps per model, alternating; ms are medians, a ratio"
            " is the median over steps of (time / keras.applications time of the same step)"
        )
        print()
        print(
            table(
                [
                    "model",
                    "size",
                    "keras first call s",
                    "blueprint first call s",
                    "keras step ms",
                    "blueprint step ms",
                    "ratio",
                    "ratio of minima",
                    "first-step loss diff",
                    f"step < {STEP_GOAL}x",
                ],
                step_rows,
            )
        )
    print()
    for note in notes:
        print(f"note: {note}")
    print(describe(info, devices))
    print(f"1-min load average at end {os.getloadavg()[0]:.2f}")
    if failures:
        print("mirrors equivalent: **NO** (see the FAILURE lines on stderr); the run is invalid")
    else:
        checked = "parameters, layer names, classes and output shapes"
        if step_rows:
            checked += f"; first-step loss within {LOSS_TOLERANCE}"
        print(f"mirrors equivalent: yes ({checked})")

    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "benchmark": "zoo",
                    "machine": info,
                    "devices": devices,
                    "load_average_1m_end": f"{os.getloadavg()[0]:.2f}",
                    "build_goal_ratio": BUILD_GOAL,
                    "step_goal_ratio": STEP_GOAL,
                    "rounds": args.rounds,
                    "steps": args.steps,
                    "batch": args.batch,
                    "jit_compile": False,
                    "failures": {name: found for name, found in failures},
                    "models": [
                        {
                            "name": r.mirror.name,
                            "application": r.mirror.application,
                            "source": r.source,
                            "size": r.size,
                            "layers": r.layers,
                            "parameters": r.params,
                            "build_seconds": r.build_seconds,
                            "step_seconds": r.step_seconds,
                            "first_call_seconds": r.first_call_seconds,
                            "first_loss": r.first_loss,
                            **r.summary,
                        }
                        for r in results
                    ],
                },
                indent=2,
            )
            + "\n"
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
