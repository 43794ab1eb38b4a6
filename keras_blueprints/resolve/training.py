"""Resolving the training sections: ``data:`` and ``train:``.

Data sources and callbacks are registered functions with typed keyword
parameters (:mod:`keras_blueprints.catalog.configurable`); their names and arguments are
checked here, at load time, without importing TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from keras_blueprints._core.errors import BlueprintError, ErrorCollector, Plain
from keras_blueprints._core.paths import ReadRoots, check_read_path, check_write_path
from keras_blueprints._core.registry import Registry
from keras_blueprints.callbacks.registry import CALLBACKS
from keras_blueprints.data.registry import SOURCES
from keras_blueprints.loading.valuetypes import ValueType
from keras_blueprints.resolve.arguments import check_arguments
from keras_blueprints.resolve.directions import default_direction
from keras_blueprints.resolve.schema import (
    CallbackSpec,
    DataSpec,
    PretrainSpec,
    RuntimeSpec,
    SourceSpec,
    TrainSpec,
    TuneSpec,
    freeze,
)
from keras_blueprints.resolve.values import Where, check_safe, substitute_at

__all__ = [
    "DATA_KEYS",
    "FILE_SUFFIXES",
    "RUNTIME_KEYS",
    "STRATEGIES",
    "TRAIN_KEYS",
    "TUNERS",
    "TUNE_KEYS",
    "resolve_data",
    "resolve_runtime",
    "resolve_train",
    "resolve_tune",
]  # fmt: skip

TUNERS = ("random", "grid", "bayesian", "hyperband")
TUNE_KEYS = (
    "tuner", "objective", "direction", "max_trials", "executions_per_trial", "epochs",
    "max_epochs", "factor", "patience", "seed",
)  # fmt: skip
DATA_KEYS = ("source", "validation", "test", "batch_size", "shuffle", "cache", "label_noise")
TRAIN_KEYS = (
    "epochs", "seed", "steps_per_epoch", "monitor", "deterministic", "callbacks", "pretrain",
)  # fmt: skip
PRETRAIN_KEYS = ("pairs", "epochs", "noise", "loss")

FILE_SUFFIXES = {".npz": ("npz", "path"), ".npy": ("npy", "x"), ".csv": ("csv", "path")}
"""A source written as a file name: suffix -> (source, the argument the name fills)."""


def resolve_data(
    raw: Any, root: Where, env: Mapping[str, Any], reads: ReadRoots | None = None
) -> DataSpec | None:
    """Reads ``data:``.

    Args:
        raw: The section (None when absent).
        root: The document's root.
        env: Parameter values.
        reads: The folders the sources' files may be read below (default: the
            blueprint's folder and the current directory).

    Returns:
        The data specification, or None.

    Raises:
        BlueprintError: Unknown keys or sources, bad arguments or values (all together).
    """
    if raw is None:
        return None
    reads = reads or ReadRoots.of(root.doc.path)
    w = root / "data"
    if isinstance(raw, str):  # data: digits  (a source alone)
        raw = {"source": raw}
        w_source = w
    else:
        w_source = w / "source"
    section = _Section(
        raw,
        w,
        env,
        DATA_KEYS,
        example="{source: digits, validation: 0.1, batch_size: 64}",
        alternative="a source name",
    )
    raw, values = section.raw, section.values
    if raw.get("source") is not None:
        section.read("source", resolve_source, raw["source"], w_source, reads)
    for key in ("validation", "test"):
        if raw.get(key) is not None:
            section.read(key, _split, key, raw[key], w / key, reads)
    values.update(batch_size=32, shuffle=1024)
    for key in ("batch_size", "shuffle"):
        if key in raw:
            section.read(key, _count, key, raw[key], w / key, key == "shuffle")
    if "cache" in raw:
        section.read("cache", _flag, "cache", raw["cache"], w / "cache")
    if "label_noise" in raw:
        section.read(
            "label_noise", _fraction, "label_noise", raw["label_noise"], w / "label_noise", True
        )
    section.errors.raise_if_any()
    return DataSpec(
        source=values.get("source"),
        validation=values.get("validation"),
        test=values.get("test"),
        batch_size=values["batch_size"],
        shuffle=values["shuffle"],
        cache=values.get("cache", True),
        label_noise=values.get("label_noise", 0.0),
        location=w.loc,
    )


class _Section:
    """A section's mapping, read key by key with every error collected.

    Unknown keys are reported on creation; :meth:`read` stores a value or
    collects its error, so that all of a section's problems are told at once.
    """

    def __init__(
        self,
        raw: Any,
        w: Where,
        env: Mapping[str, Any],
        keys: tuple[str, ...],
        *,
        example: str,
        alternative: str | None = None,
    ) -> None:
        name = w.path[-1]
        if not isinstance(raw, dict):
            raise BlueprintError(
                f"'{name}' must be a mapping" + (f" (or {alternative})" if alternative else ""),
                w.loc,
                received=Plain(f"a {ValueType.name_of(raw)}"),
                hint=f"For example:  {name}: {example}",
            )
        raw = substitute_at(raw, env, w)
        check_safe(raw, w)
        self.raw = raw
        self.values: dict[str, Any] = {}
        self.errors = ErrorCollector()
        for key in raw:
            if key not in keys:
                self.errors.add(
                    BlueprintError.unknown_name(f"a {name} setting", key, keys, (w / key).key_loc)
                )

    def read(self, key: str, fn: Callable[..., Any], *args: Any) -> None:
        try:
            self.values[key] = fn(*args)
        except BlueprintError as err:
            self.errors.add(err)


def resolve_source(value: Any, w: Where, reads: ReadRoots | None = None) -> SourceSpec:
    """Reads a data source: ``name``, ``{name: {args}}`` or a file name (``train.npz``).

    The arguments the source declares it reads (``reads=`` when registered) are held
    to :func:`keras_blueprints._core.paths.check_read_path`: below the blueprint's folder,
    the current directory or an allowed folder, unless the command line gave them.

    Args:
        value: The YAML value (substituted).
        w: Where it stands.
        reads: The folders its files may be read below (default: the blueprint's
            folder and the current directory).

    Returns:
        The source, its arguments checked and defaults filled.

    Raises:
        BlueprintError: Unknown source, bad arguments.
    """
    if isinstance(value, str) and value not in SOURCES:
        for suffix, (kind, arg) in FILE_SUFFIXES.items():
            if value.lower().endswith(suffix):
                value = {kind: {arg: value}}
                break
        else:
            if value.endswith("/"):
                value = {"images": {"directory": value}}
    kind, args, aw = _named(value, w, "a data source", "digits  or  {npz: {path: train.npz}}")
    entry = SOURCES.lookup(kind, (w / kind).key_loc if isinstance(value, dict) else w.loc)
    checked = check_arguments(f"data source '{kind}'", entry.params, args, aw)
    canonical = SOURCES.canonical(kind) or kind
    reads = reads or ReadRoots.of(w.doc.path)
    for param in getattr(entry, "reads", ()):
        if param not in args:
            continue
        pw = aw / param  # data: train.npz  stands for {npz: {path: ...}}: located at the name
        given = [(pw, args[param])]
        if isinstance(args[param], list):
            given = [(pw / i, item) for i, item in enumerate(args[param])]
        for where, item in given:
            if isinstance(item, str):
                what = f"the '{param}' of data source '{canonical}'"
                check_read_path(item, reads, where.loc, what)
    return SourceSpec(canonical, freeze(checked), w.loc)


def _split(key: str, value: Any, w: Where, reads: ReadRoots | None = None) -> SourceSpec | float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _fraction(key, value, w, False)
    return resolve_source(value, w, reads)


def _fraction(key: str, value: Any, w: Where, zero_ok: bool) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not (0 <= value < 1) or (value == 0 and not zero_ok):
        raise BlueprintError(
            f"'{key}' must be a fraction" + (" or a data source" if not zero_ok else ""),
            w.loc,
            expected="a number in [0, 1)" if zero_ok else "a number in (0, 1), or a source",
            received=value,
        )
    return float(value)


def _count(key: str, value: Any, w: Where, zero_ok: bool = False) -> int:
    if value is False and zero_ok:
        return 0
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= (0 if zero_ok else 1)
    if not ok:
        raise BlueprintError(
            f"'{key}' must be a {'non-negative' if zero_ok else 'positive'} integer",
            w.loc,
            received=value,
        )
    return value


def _flag(key: str, value: Any, w: Where) -> bool:
    if not isinstance(value, bool):
        raise BlueprintError(f"'{key}' must be true or false", w.loc, received=value)
    return value


def _named(value: Any, w: Where, what: str, example: str) -> tuple[str, dict, Where]:
    """Reads ``name`` or ``{name: {args}}``; returns the name, arguments and their place."""
    if isinstance(value, str):
        return value, {}, w
    if isinstance(value, dict) and len(value) == 1:
        ((name, args),) = value.items()
        if args is None:
            args = {}
        if isinstance(name, str) and isinstance(args, dict):
            return name, args, w / name
        if isinstance(name, str):
            raise BlueprintError(
                f"the arguments of {what} '{name}' must be a mapping",
                (w / name).loc,
                received=args,
                hint=f"For example:  {example}",
            )
    raise BlueprintError(
        f"{what} is a name or a one-key mapping of name to arguments",
        w.loc,
        expected=f"e.g.  {example}",
        received=value,
    )


def resolve_train(
    raw: Any, root: Where, env: Mapping[str, Any], node_names: Collection[str]
) -> TrainSpec | None:
    """Reads ``train:``.

    Args:
        raw: The section (None when absent).
        root: The document's root.
        env: Parameter values.
        node_names: The graph's node names (``pretrain.pairs`` refers to them).

    Returns:
        The training specification, or None.

    Raises:
        BlueprintError: Unknown keys or callbacks, bad arguments or values (all together).
    """
    if raw is None:
        return None
    w = root / "train"
    section = _Section(raw, w, env, TRAIN_KEYS, example="{epochs: 10, seed: 0}")
    raw, values, read = section.raw, section.values, section.read
    if "epochs" in raw:
        read("epochs", _count, "epochs", raw["epochs"], w / "epochs")
    if "seed" in raw:
        read("seed", _count, "seed", raw["seed"], w / "seed", True)
    if raw.get("steps_per_epoch") is not None:
        read(
            "steps_per_epoch",
            _count,
            "steps_per_epoch",
            raw["steps_per_epoch"],
            w / "steps_per_epoch",
        )
    if raw.get("monitor") is not None:
        read("monitor", _monitor, raw["monitor"], w / "monitor")
    if "deterministic" in raw:
        read("deterministic", _flag, "deterministic", raw["deterministic"], w / "deterministic")
    if raw.get("callbacks") is not None:
        read("callbacks", resolve_callbacks, raw["callbacks"], w / "callbacks")
    if raw.get("pretrain") is not None:
        read("pretrain", _pretrain, raw["pretrain"], w / "pretrain", node_names)
    section.errors.raise_if_any()
    return TrainSpec(
        epochs=values.get("epochs", 10),
        seed=values.get("seed", 0),
        steps_per_epoch=values.get("steps_per_epoch"),
        monitor=values.get("monitor"),
        deterministic=values.get("deterministic", True),
        callbacks=values.get("callbacks", ()),
        pretrain=values.get("pretrain"),
        location=w.loc,
    )


def _monitor(value: Any, w: Where) -> str:
    if not isinstance(value, str) or not value:
        raise BlueprintError(
            "'monitor' names a logged metric", w.loc, expected="e.g.  val_loss", received=value
        )
    return value


def resolve_callbacks(value: Any, w: Where) -> tuple[CallbackSpec, ...]:
    """Reads ``train.callbacks``: a list of names or ``{name: {args}}``.

    Raises:
        BlueprintError: Unknown callbacks or bad arguments (all together).
    """
    if not isinstance(value, list):
        raise BlueprintError(
            "'callbacks' must be a list",
            w.loc,
            received=Plain(f"a {ValueType.name_of(value)}"),
            hint="For example:  callbacks: [learning_curves, {early_stopping: {patience: 3}}]",
        )
    return _entries(CALLBACKS, "a callback", value, w, "early_stopping: {patience: 3}")


def _entries(
    registry: Registry, what: str, items: list, w: Where, example: str
) -> tuple[CallbackSpec, ...]:
    errors = ErrorCollector()
    out = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        iw = w / i
        try:
            name, args, aw = _named(item, iw, what, example)
            key_loc = (iw / name).key_loc if isinstance(item, dict) else iw.loc
            entry = registry.lookup(name, key_loc)
            canonical = registry.canonical(name) or name
            if canonical in seen:
                raise BlueprintError(
                    f"callback '{canonical}' is listed twice",
                    key_loc,
                    hint=f"The first one is item {seen[canonical] + 1}; keep one.",
                )
            seen[canonical] = i
            owner = f"{registry.kind} '{canonical}'"
            checked = check_arguments(owner, entry.params, args, aw)
            for param in getattr(entry, "writes", ()):
                if param in args:
                    check_write_path(args[param], (aw / param).loc, f"'{param}' of {owner}")
            out.append(CallbackSpec(canonical, freeze(checked), key_loc))
        except BlueprintError as err:
            errors.add(err)
    errors.raise_if_any()
    return tuple(out)


def _pretrain(value: Any, w: Where, node_names: Collection[str]) -> PretrainSpec:
    if not isinstance(value, dict):
        raise BlueprintError(
            "'pretrain' must be a mapping",
            w.loc,
            received=value,
            hint="For example:  pretrain: {pairs: [[enc1, dec1], [enc2, dec2]], epochs: 5}",
        )
    for key in value:
        if key not in PRETRAIN_KEYS:
            raise BlueprintError.unknown_name(
                "a pretrain setting", key, PRETRAIN_KEYS, (w / key).key_loc
            )
    pairs = value.get("pairs")
    pw = w / "pairs"
    if not isinstance(pairs, list) or not pairs:
        raise BlueprintError(
            "'pretrain' needs 'pairs': (encoder layer, decoder layer) node names, outermost first",
            pw.loc if "pairs" in value else w.loc,
            expected="e.g.  pairs: [[enc1, dec1], [enc2, dec2]]",
            received=pairs if "pairs" in value else Plain("no pairs"),
        )
    out = []
    for i, pair in enumerate(pairs):
        if not (
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
        ):
            raise BlueprintError(
                "each pretraining pair is [encoder layer, decoder layer]",
                (pw / i).loc,
                received=pair,
            )
        for j, name in enumerate(pair):
            if name not in node_names:
                raise BlueprintError.unknown_name(
                    "a node of the graph", name, node_names, (pw / i / j).loc
                )
        out.append((pair[0], pair[1]))
    epochs = _count("epochs", value.get("epochs", 5), w / "epochs")
    noise = value.get("noise", 0.0)
    if not isinstance(noise, int | float) or isinstance(noise, bool) or noise < 0:
        raise BlueprintError(
            "'noise' is a standard deviation",
            (w / "noise").loc,
            expected="a number >= 0",
            received=noise,
        )
    loss = value.get("loss", "mse")
    if not isinstance(loss, str):
        raise BlueprintError("'loss' names a Keras loss", (w / "loss").loc, received=loss)
    return PretrainSpec(tuple(out), epochs, float(noise), loss, w.loc)


def resolve_tune(raw: Any, root: Where, env: Mapping[str, Any]) -> TuneSpec | None:
    """Reads ``tune:``.

    Args:
        raw: The section (None when absent).
        root: The document's root.
        env: Parameter values.

    Returns:
        The search specification, or None.

    Raises:
        BlueprintError: Unknown keys or tuners, bad values (all together).
    """
    if raw is None:
        return None
    w = root / "tune"
    section = _Section(
        raw, w, env, TUNE_KEYS, example="{tuner: bayesian, objective: val_accuracy, max_trials: 20}"
    )
    raw, values, read = section.raw, section.values, section.read
    if "tuner" in raw:
        read("tuner", _one_of, "tuner", raw["tuner"], TUNERS, w / "tuner")
    if "objective" in raw:
        read("objective", _monitor, raw["objective"], w / "objective")
    if "direction" in raw:
        read("direction", _one_of, "direction", raw["direction"], ("min", "max"), w / "direction")
    for key in ("max_trials", "executions_per_trial", "epochs", "max_epochs", "patience"):
        if raw.get(key) is not None:
            read(key, _count, key, raw[key], w / key)
    if "factor" in raw:
        read("factor", _count, "factor", raw["factor"], w / "factor")
        if values.get("factor") == 1:
            section.errors.add(
                BlueprintError("Hyperband's 'factor' must be at least 2", (w / "factor").loc)
            )
    if "seed" in raw:
        read("seed", _count, "seed", raw["seed"], w / "seed", True)
    section.errors.raise_if_any()
    objective = values.get("objective", "val_loss")
    return TuneSpec(
        tuner=values.get("tuner", "random"),
        objective=objective,
        direction=values.get("direction", default_direction(objective)),
        max_trials=values.get("max_trials", 10),
        executions_per_trial=values.get("executions_per_trial", 1),
        epochs=values.get("epochs"),
        max_epochs=values.get("max_epochs", 10),
        factor=values.get("factor", 3),
        patience=values.get("patience"),
        seed=values.get("seed", 0),
        location=w.loc,
    )


def _one_of(key: str, value: Any, choices: tuple[str, ...], w: Where) -> str:
    if value not in choices:
        raise BlueprintError.unknown_name(f"a {key}", str(value), choices, w.loc)
    return value


STRATEGIES = ("default", "one_device", "mirrored", "multi_worker", "tpu")
RUNTIME_KEYS = (
    "strategy", "devices", "tpu", "virtual_cpus", "scale_batch_size", "mixed_precision",
    "jit_compile",
)  # fmt: skip


def resolve_runtime(raw: Any, root: Where, env: Mapping[str, Any]) -> RuntimeSpec | None:
    """Reads ``runtime:``.

    Args:
        raw: The section (None when absent).
        root: The document's root.
        env: Parameter values.

    Returns:
        The runtime specification, or None.

    Raises:
        BlueprintError: Unknown keys or strategies, bad values (all together).
    """
    if raw is None:
        return None
    w = root / "runtime"
    if isinstance(raw, str):  # runtime: mirrored
        raw = {"strategy": raw}
    section = _Section(
        raw,
        w,
        env,
        RUNTIME_KEYS,
        example="{strategy: mirrored, mixed_precision: true}",
        alternative="a strategy name",
    )
    raw, values, read = section.raw, section.values, section.read
    if "strategy" in raw:
        read("strategy", _one_of, "strategy", raw["strategy"], STRATEGIES, w / "strategy")
    if raw.get("devices") is not None:
        read("devices", _devices, raw["devices"], w / "devices")
    if raw.get("tpu") is not None:
        read("tpu", _monitor, raw["tpu"], w / "tpu")
    if raw.get("virtual_cpus") is not None:
        read("virtual_cpus", _count, "virtual_cpus", raw["virtual_cpus"], w / "virtual_cpus")
    for key in ("scale_batch_size", "mixed_precision"):
        if key in raw:
            read(key, _flag, key, raw[key], w / key)
    if "jit_compile" in raw:
        read("jit_compile", _jit, raw["jit_compile"], w / "jit_compile")
    section.errors.raise_if_any()
    strategy = values.get("strategy", "default")
    devices = values.get("devices", ())
    if strategy == "one_device" and len(devices) > 1:
        raise BlueprintError(
            "the one_device strategy takes one device",
            (w / "devices").loc,
            received=list(devices),
            hint="Use strategy: mirrored to train on several devices.",
        )
    if devices and strategy not in ("one_device", "mirrored"):
        raise BlueprintError(
            f"'devices' applies to the one_device and mirrored strategies, not to {strategy}",
            (w / "devices").key_loc,
        )
    return RuntimeSpec(
        strategy=strategy,
        devices=devices,
        tpu=values.get("tpu"),
        virtual_cpus=values.get("virtual_cpus"),
        scale_batch_size=values.get("scale_batch_size", False),
        mixed_precision=values.get("mixed_precision", False),
        jit_compile=values.get("jit_compile", "auto"),
        location=w.loc,
    )


def _devices(value: Any, w: Where) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(d, str) for d in value):
        raise BlueprintError(
            "'devices' lists device names",
            w.loc,
            expected='e.g.  ["/gpu:0", "/gpu:1"]',
            received=value,
        )
    return tuple(value)


def _jit(value: Any, w: Where) -> bool | str:
    if isinstance(value, bool) or value == "auto":
        return value
    raise BlueprintError(
        "'jit_compile' is true, false or auto",
        w.loc,
        expected="true, false or auto",
        received=value,
    )
