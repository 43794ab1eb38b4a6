"""``blueprint export``: a trained model as a verified SavedModel, ``.keras`` file or TFLite model.

Every export is verified before it is declared done. The export is written to
a temporary directory beside ``--out``, reloaded the way a server loads it
(``tf.saved_model.load``, ``keras.saving.load_model`` or the TFLite
interpreter) and run on a sample batch (from the run's own data when there is
a run directory, else random data of the inputs' shapes); its outputs are
compared with the trained Keras model's. The largest absolute difference is
printed and written to ``export.json`` with the signatures, the blueprint's
hash, the format, the tolerance and the versions. Only then is the temporary
directory renamed to ``--out`` (replacing an old one only with ``overwrite``):
a failed export leaves nothing at ``--out`` and removes nothing the user had.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keras_blueprints import __version__
from keras_blueprints._core.errors import (
    BlueprintError,
    Plain,
    RunError,
    UsageError,
    did_you_mean,
)
from keras_blueprints._core.files import atomic_write_json, cannot_write, file_sha256, temporary_dir
from keras_blueprints.export.signatures import (
    DecodeSpec,
    Endpoint,
    decode_function,
    describe_signatures,
    endpoint_for,
    sub_model_output_names,
    write_saved_model,
)
from keras_blueprints.training.lock import remove_tree_if_unlocked, try_lock
from keras_blueprints.training.rundir import (
    BLUEPRINT_FILE,
    MODEL_FILE,
    RUN_FILE,
    refuse_dangling_link,
)

if TYPE_CHECKING:
    import keras

    from keras_blueprints.resolve.schema import Blueprint

__all__ = [
    "DEFAULT_TOLERANCE",
    "EXPORT_FILE",
    "FORMATS",
    "ExportResult",
    "check_source",
    "export_model",
]

FORMATS = ("saved_model", "keras", "tflite")
EXPORT_FILE = "export.json"
TFLITE_FILE = "model.tflite"
DEFAULT_TOLERANCE = {"saved_model": 1e-4, "keras": 1e-6, "tflite": 1e-3}
"""Largest absolute difference accepted per format: the same graph reloaded (SavedModel:
TensorFlow may fuse ops differently from eager Keras), the same file reloaded (.keras), other
kernels (TFLite)."""

QUANTIZED_TOLERANCE = {"float16": 1e-2, "dynamic": 0.1, "int8": 0.25}
"""Default largest absolute difference of a quantized TFLite model (``--quantize``)."""
DEFAULT_REPRESENTATIVE = 100
"""Training examples that calibrate a full-integer (``int8``) TFLite model."""
METRIC_EXAMPLES = 1000
"""Test (or validation) examples on which a TFLite model's metric is compared with Keras'."""

DEFAULT_DECODE_LENGTH = 20
RANDOM_TIME_STEPS = 8


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_model` returns.

    Attributes:
        out: The export directory.
        format: ``saved_model``, ``keras`` or ``tflite``.
        max_abs_diff: Largest absolute difference from the Keras model, per signature.
        record: The contents of ``export.json``.
    """

    out: Path
    format: str
    max_abs_diff: dict[str, float]
    record: dict[str, Any] = field(repr=False)


@dataclass
class _Source:
    """What is exported: the model file, and the run directory it came from (if any)."""

    model_file: Path
    run_dir: Path | None


def export_model(
    source: str | Path,
    out: str | Path,
    *,
    format: str = "saved_model",
    overwrite: bool = False,
    tolerance: float | None = None,
    samples: int = 32,
    max_length: int | None = None,
    start_token: int | None = None,
    end_token: int | None = None,
    report: Callable[[str], None] | None = None,
    quantize: str = "none",
    representative: int = DEFAULT_REPRESENTATIVE,
) -> ExportResult:
    """Exports a trained model and verifies the export against the Keras model.

    Args:
        source: A run directory (``model.keras`` and ``blueprint.yaml``) or a ``.keras`` file.
        out: The export directory; must be missing or empty unless ``overwrite``.
        format: ``saved_model`` (default), ``keras`` or ``tflite``.
        overwrite: Replace a non-empty ``out``, only once the new export is verified.
        tolerance: Largest accepted absolute difference (default per format,
            :data:`DEFAULT_TOLERANCE`).
        samples: Examples in the verification batch.
        max_length: Tokens the ``decode`` signature of an encoder-decoder generates
            (default: the target length in the run's data, else 20).
        start_token: ``decode``'s start token (default: vocabulary - 2, the
            convention of the ``sequences`` data source).
        end_token: ``decode``'s end token (default: vocabulary - 1).
        report: Called with each line of the verification report (e.g. ``print``).
        quantize: TFLite post-training quantization: ``none`` (default), ``float16``,
            ``dynamic`` (range) or ``int8`` (full integer, calibrated on the run's
            training data). The quantized model's metric (accuracy for a classifier,
            else MSE) is compared with the Keras model's on the run's test (else
            validation) data and recorded in ``export.json`` under ``quantization``.
        representative: Training examples that calibrate ``int8`` (at most).

    Returns:
        The result.

    Raises:
        UsageError: An unknown format, a negative tolerance, or no samples.
        RunError: No trained model at ``source``, a non-empty ``out`` without
            ``overwrite``, a conversion that fails, or a verification above the
            tolerance (``out`` is then untouched).
    """
    import keras

    if format not in FORMATS:
        raise UsageError(
            f"'{format}' is not an export format",
            "--format",
            expected="one of: " + ", ".join(FORMATS),
            hint=did_you_mean(str(format), FORMATS) or None,
        )
    from keras_blueprints.export.tflite import check_quantization

    check_quantization(quantize)
    if quantize != "none" and format != "tflite":
        raise UsageError(
            "--quantize applies to TFLite exports only",
            "--quantize",
            received=f"--format {format}",
            hint="Add --format tflite, or leave out --quantize.",
        )
    if (
        not isinstance(representative, int)
        or isinstance(representative, bool)
        or (representative < 1)
    ):
        raise UsageError(
            "the number of representative examples must be a positive integer",
            "--representative",
            received=f"representative={representative!r}",
        )
    if tolerance is None:
        tolerance = QUANTIZED_TOLERANCE.get(quantize, DEFAULT_TOLERANCE[format])
    if not tolerance >= 0:
        raise UsageError(
            "the tolerance must be a number >= 0", "--tolerance", received=f"tolerance={tolerance}"
        )
    if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
        raise UsageError(
            "the number of verification samples must be a positive integer",
            "--samples",
            received=f"samples={samples!r}",
        )
    say = report or (lambda line: None)
    src = _resolve_source(Path(source))
    out = Path(out)
    _check_apart(src, out)
    _check_out(out, overwrite)

    from keras_blueprints.training.run import load_trained

    keras.backend.clear_session()
    reference = load_trained(src.model_file)
    bp = _load_blueprint(src)
    x, sample_note = _sample(src, bp, reference, samples)
    expected = _outputs(reference, x)

    record: dict[str, Any] = {
        "format": format,
        "source": str(src.run_dir or src.model_file),
        "model_file": str(src.model_file),
        "blueprint": bp.name if bp is not None else reference.name,
        "blueprint_sha256": file_sha256(src.run_dir / BLUEPRINT_FILE) if src.run_dir else None,
        "model_sha256": file_sha256(src.model_file),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(),
    }
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write(
            out,
            exc,
            what=f"cannot create the folder of '{out}'",
            expected="a new or empty directory in a writable place",
        ) from exc
    with _staging(out) as tmp:
        if format == "keras":
            diffs, signatures = _export_keras(reference, x, expected, tmp)
        elif format == "tflite":
            diffs, signatures, record["quantization"] = _export_tflite(
                reference, x, expected, tmp, out, quantize, _tflite_data(src, bp, representative)
            )
        else:
            diffs, signatures, decode = _export_saved_model(
                reference,
                bp,
                src,
                x,
                expected,
                tmp,
                samples=samples,
                decode=(max_length, start_token, end_token),
            )
            if decode is not None:
                record["decode"] = decode
        worst = max(diffs.values())
        record["signatures"] = signatures
        record["verification"] = {
            "sample": sample_note,
            "examples": _rows(x),
            "max_abs_diff": diffs,
            "tolerance": tolerance,
            "passed": worst <= tolerance,
        }
        for name, diff in diffs.items():
            say(f"{name}: max |export - Keras| = {diff:.3g} (tolerance {tolerance:g})")
        if not worst <= tolerance:
            bad = [n for n, d in diffs.items() if not d <= tolerance]
            raise RunError(
                f"the export does not reproduce the Keras model: verification failed for "
                f"{', '.join(bad)}",
                out,
                expected=f"a largest absolute difference of at most {tolerance:g}",
                received=f"{worst:.6g} on {sample_note}",
                hint=f"Nothing was written to '{out}'. Run again with --debug, or raise "
                "--tolerance if the difference is expected (mixed precision, TFLite kernels).",
            )
        atomic_write_json(tmp / EXPORT_FILE, record)
        _keep_data_names(src, tmp)
        _install(tmp, out)
    return ExportResult(out, format, diffs, record)


def _keep_data_names(src: _Source, tmp: Path) -> None:
    """Copies the run's class names and table layout, so that predict on the export uses them.

    The export's own folder (a SavedModel directory) holds them beside ``export.json``;
    a ``.tflite`` file has no folder of its own and goes without.
    """
    from keras_blueprints.training.rundir import CLASSES_FILE, TABLE_FILE

    if src.run_dir is None or not tmp.is_dir():
        return
    for name in (CLASSES_FILE, TABLE_FILE):
        file = src.run_dir / name
        if file.is_file() and not file.is_symlink() and file.stat().st_size <= 1 << 20:
            shutil.copyfile(file, tmp / name)


# -- where from, where to ------------------------------------------------------------------


def check_source(source: str | Path) -> None:
    """Checks what is to be exported without TensorFlow, so that a bad file fails fast.

    Raises:
        RunError: No run directory or ``.keras`` file at ``source``, or a
            damaged one (:func:`keras_blueprints.training.modelfile.check_keras_file`).
    """
    from keras_blueprints.training.modelfile import check_keras_file

    check_keras_file(_resolve_source(Path(source)).model_file)


def _resolve_source(path: Path) -> _Source:
    if not path.exists():
        raise RunError(
            f"no run directory or model at '{path}'",
            path,
            expected=f"a run directory (holding {MODEL_FILE}) or a .keras file",
            received="no such file or directory",
        )
    if path.is_dir():
        if (path / MODEL_FILE).is_file():
            return _Source(path / MODEL_FILE, path if (path / BLUEPRINT_FILE).is_file() else None)
        if (path / RUN_FILE).is_file():
            raise RunError(
                f"run '{path}' has no trained model yet",
                path,
                expected=f"{MODEL_FILE} (written when training completes)",
                hint=f"Finish the run first: blueprint train --resume {path}",
            )
        raise RunError(
            f"'{path}' is not a run directory",
            path,
            expected=f"a directory written by 'blueprint train' (with {MODEL_FILE}) or a .keras "
            "file",
            received=f"a directory without {MODEL_FILE}",
        )
    if path.suffix != ".keras":
        raise RunError(
            f"cannot export '{path}'",
            path,
            expected="a run directory or a .keras file",
            received=f"a {path.suffix or 'suffix-less'} file",
        )
    parent = path.parent
    run_dir = parent if (parent / BLUEPRINT_FILE).is_file() else None
    if run_dir is None and (parent.parent / BLUEPRINT_FILE).is_file():
        run_dir = parent.parent  # RUN_DIR/checkpoints/best.keras
    return _Source(path, run_dir)


def _check_apart(src: _Source, out: Path) -> None:
    """Refuses an ``out`` that is, contains or lies inside what it exports from.

    Installing the export replaces ``out`` whole (with ``--overwrite``): the run's
    model, history and checkpoints would go with it. Paths are compared resolved,
    symbolic links followed.
    """
    source = Path(os.path.realpath(src.run_dir or src.model_file))
    target = Path(os.path.realpath(out))
    if target == source or target.is_relative_to(source) or source.is_relative_to(target):
        raise RunError(
            "the export directory overlaps the run it exports from",
            out,
            expected="an --out outside the source run (and not containing it)",
            received=Plain(f"--out {target}, source {source}"),
            hint="Export next to the run, e.g. --out exports/NAME/1; an export replaces its"
            " --out whole",
        )


def _check_out(out: Path, overwrite: bool) -> None:
    refuse_dangling_link(out, "export directory")
    if out.exists() and not out.is_dir():
        raise RunError(
            f"'{out}' is a file",
            out,
            expected="a new or empty directory for the export",
        )
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise RunError(
            f"'{out}' already exists and is not empty",
            out,
            hint="Choose another --out, or pass --overwrite to replace it (only once the new "
            "export is verified).",
        )


@contextlib.contextmanager
def _staging(out: Path) -> Iterator[Path]:
    """A temporary directory beside ``out``; removed whatever happens.

    The export holds an flock on it while it writes, so that the next export to
    ``out`` removes only staging directories whose process is gone (killed).
    """
    _remove_stale_staging(out)
    tmp = temporary_dir(out.parent, f".{out.name}.export-")  # becomes the export: umask's mode
    held = try_lock(tmp)
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if held is not None:
            os.close(held)


def _remove_stale_staging(out: Path) -> None:
    """Removes what killed exports to ``out`` left beside it (our mkdtemp names only)."""
    if not out.parent.is_dir():
        return
    ours = re.compile(re.escape(f".{out.name}.") + r"(export|saved|old)-[a-z0-9_]{8}")
    for path in out.parent.iterdir():
        match = ours.fullmatch(path.name)
        if match is None or path.is_symlink() or not path.is_dir():
            continue
        if match.group(1) == "old" and not out.exists():
            continue  # killed between renames: the previous export, left for the user
        remove_tree_if_unlocked(path)


def _install(tmp: Path, out: Path) -> None:
    """Renames ``tmp`` to ``out``; an existing ``out`` is replaced, restored if that fails."""
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        os.rename(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    old.rmdir()
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except OSError:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _load_blueprint(src: _Source) -> Blueprint | None:
    if src.run_dir is None:
        return None
    from keras_blueprints.training.run import load_run_blueprint

    return load_run_blueprint(src.run_dir)


# -- the sample batch ------------------------------------------------------------------------


def _sample(
    src: _Source, bp: Blueprint | None, model: keras.Model, count: int
) -> tuple[dict[str, Any], str]:
    """Inputs by name: the run's validation data when it can be read, else random data."""
    if bp is not None and bp.data is not None and bp.data.source is not None:
        import json

        from keras_blueprints.data import make_datasets

        try:
            info = json.loads((src.run_dir / RUN_FILE).read_text(encoding="utf-8"))
            seed = bp.train.seed if bp.train is not None else 0
            datasets = make_datasets(
                bp,
                bp.data,
                base_dir=Path(info.get("base_dir", src.run_dir)),
                seed=seed,
                batch_size=count,
            )
            split = "validation" if datasets.validation is not None else "train"
            x, _ = datasets.sample(split, count)
        except (BlueprintError, OSError, ValueError):
            pass  # data moved or gone: random data still verifies the export
        else:
            names = [t.name for t in model.inputs]
            x = x if isinstance(x, Mapping) else {names[0]: x}
            return {n: x[n] for n in names}, f"{_rows(x)} {split} examples of the run's data"
    specs = [(t.name, tuple(t.shape), str(t.dtype)) for t in model.inputs]
    return random_inputs(specs, count, seed=0), f"{count} random examples"


def random_inputs(
    specs: list[tuple[str, tuple[int | None, ...], str]], count: int, *, seed: int = 0
) -> dict[str, Any]:
    """Random arrays for inputs given as ``(name, shape with batch, dtype)``.

    Floats are standard normal, integers 0 or 1 (valid ids for any embedding), a
    free non-batch dimension is 8 steps long.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    out = {}
    for name, shape, dtype in specs:
        dims = (count, *(RANDOM_TIME_STEPS if d is None else int(d) for d in shape[1:]))
        if "int" in dtype:
            out[name] = rng.integers(0, 2, dims).astype(dtype)
        elif dtype == "bool":
            out[name] = rng.integers(0, 2, dims).astype(bool)
        else:
            out[name] = rng.normal(size=dims).astype(dtype if dtype != "bfloat16" else "float32")
    return out


def _rows(x: Mapping[str, Any]) -> int:
    return len(next(iter(x.values())))


def _outputs(model: keras.Model, x: Mapping[str, Any], names: list[str] | None = None) -> dict:
    """A Keras model's outputs on named inputs, as NumPy arrays keyed by output name."""
    import keras

    arrays = [x[t.name] for t in model.inputs]
    result = model(arrays[0] if len(arrays) == 1 else arrays, training=False)
    results = list(result) if isinstance(result, list | tuple) else [result]
    names = names or list(model.output_names)
    return {n: keras.ops.convert_to_numpy(r) for n, r in zip(names, results, strict=True)}


def max_abs_diff(expected: Mapping[str, Any], got: Mapping[str, Any]) -> float:
    """Largest absolute difference over every output (infinite when names or shapes differ)."""
    import numpy as np

    if set(expected) != set(got):
        return float("inf")
    worst = 0.0
    for name, want in expected.items():
        have = np.asarray(got[name])
        want = np.asarray(want)
        if have.shape != want.shape:
            return float("inf")
        if want.size:
            have64, want64 = have.astype("float64"), want.astype("float64")
            both_nan = np.isnan(have64) & np.isnan(want64)
            diff = np.where(both_nan, 0.0, np.abs(have64 - want64))
            if np.isnan(diff).any():
                return float("inf")
            worst = max(worst, float(diff.max()))
    return worst


# -- the formats -----------------------------------------------------------------------------


def _export_saved_model(
    reference: keras.Model,
    bp: Blueprint | None,
    src: _Source,
    x: dict[str, Any],
    expected: dict[str, Any],
    tmp: Path,
    *,
    samples: int,
    decode: tuple[int | None, int | None, int | None],
) -> tuple[dict[str, float], dict[str, Any], dict[str, Any] | None]:
    from keras_blueprints.export.serving import SavedModelRunner

    subs = {s.name: s for s in (bp.models if bp is not None else ())}
    if not subs:
        main = reference
        endpoints = [endpoint_for("serving_default", main)]
        models = [main]
        checks: dict[str, tuple[dict, dict]] = {"serving_default": (x, expected)}
        decode_info = None
    else:
        endpoints, models, checks, decode_info = _inference_path(
            reference, bp, src, x, expected, samples, decode
        )
    write_saved_model(str(tmp), models, endpoints)
    diffs = {}
    for name, (inputs, want) in checks.items():
        runner = SavedModelRunner(tmp, name)
        got = runner(inputs)
        diffs[name] = max_abs_diff(want, got)
    from keras_blueprints.export.serving import load_saved_model

    signatures = describe_signatures(load_saved_model(tmp).signatures)
    return diffs, signatures, decode_info


@contextlib.contextmanager
def _state_kept(models: Iterable[keras.Model]) -> Iterator[None]:
    """Restores every non-trainable variable (random seed states among them) on exit."""
    kept = {id(v): (v, v.numpy()) for m in models for v in m.non_trainable_variables}
    try:
        yield
    finally:
        for variable, value in kept.values():
            variable.assign(value)


def _inference_path(
    reference: keras.Model,
    bp: Blueprint,
    src: _Source,
    x: dict[str, Any],
    expected: dict[str, Any],
    samples: int,
    decode: tuple[int | None, int | None, int | None],
) -> tuple[list[Endpoint], list[Any], dict[str, tuple[dict, dict]], dict[str, Any] | None]:
    """Endpoints of the main model and every ``models:`` entry (+ ``decode`` for seq2seq).

    The models are rebuilt from the run's blueprint (they share the main model's
    layers) and given the trained weights; the main model is checked against the
    trained model as loaded, each further model against its rebuilt Keras self.
    """
    from keras_blueprints.builders.model import build_models

    built = build_models(bp, compile=False)
    built["model"].load_weights(src.model_file)
    main = built["model"]
    endpoints = [endpoint_for("serving_default", main)]
    checks: dict[str, tuple[dict, dict]] = {"serving_default": (x, expected)}
    rows = _rows(x)
    for sub in bp.models:
        model = built[sub.name]
        names = sub_model_output_names(sub)
        endpoints.append(endpoint_for(sub.name, model, names))
        specs, fed = [], {}
        for (_, ref), tensor in zip(sub.inputs, model.inputs, strict=True):
            if ref.index is None and ref.node in x:
                fed[tensor.name] = x[ref.node]
            else:
                specs.append((tensor.name, tuple(tensor.shape), str(tensor.dtype)))
        inputs = {**fed, **random_inputs(specs, rows, seed=1)}
        # A model that samples at inference (a probabilistic U-Net's sampler) advances its
        # random state on every call: the export is saved with the state this call began
        # from, so its first call draws the same noise and must give the same outputs.
        with _state_kept(built.values()):
            checks[sub.name] = (inputs, _outputs(model, inputs, names))
    decode_info = None
    if "encoder" in built and "decoder_step" in built:
        from keras_blueprints.export.decode import greedy_decode

        encoder, step = built["encoder"], built["decoder_step"]
        vocabulary = step.outputs[0].shape[-1]
        max_length, start, end = decode
        token_ref = dict(next(s for s in bp.models if s.name == "decoder_step").inputs)
        token_source = token_ref.get(step.inputs[0].name)
        if max_length is None:
            fed = x.get(token_source.node) if token_source is not None else None
            timed = fed is not None and fed.ndim >= 2 and fed.ndim == len(step.inputs[0].shape)
            max_length = int(fed.shape[1]) if timed else DEFAULT_DECODE_LENGTH
        spec = DecodeSpec(
            max_length,
            vocabulary - 2 if start is None else start,
            vocabulary - 1 if end is None else end,
        )
        try:
            endpoints.append(decode_function(encoder, step, spec))
        except ValueError as exc:
            raise BlueprintError(
                f"cannot export the greedy 'decode' signature: {exc}", bp.location
            ) from exc
        source_name = encoder.inputs[0].name
        if source_name in x:
            source = {source_name: x[source_name]}
        else:
            specs = [(t.name, tuple(t.shape), str(t.dtype)) for t in encoder.inputs]
            source = random_inputs(specs, rows, seed=2)
        tokens = greedy_decode(
            encoder,
            step,
            next(iter(source.values())),
            start_token=spec.start_token,
            end_token=spec.end_token,
            max_length=spec.max_length,
        )
        checks["decode"] = (source, {"tokens": tokens})
        decode_info = {
            "max_length": spec.max_length,
            "start_token": spec.start_token,
            "end_token": spec.end_token,
        }
    return endpoints, list(built.values()), checks, decode_info


def _export_keras(
    reference: keras.Model, x: dict[str, Any], expected: dict[str, Any], tmp: Path
) -> tuple[dict[str, float], dict[str, Any]]:
    from keras_blueprints.training.run import load_trained

    reference.save(tmp / MODEL_FILE)
    reloaded = load_trained(tmp / MODEL_FILE)
    got = _outputs(reloaded, x)
    signature = endpoint_for("model", reloaded)
    return {"model": max_abs_diff(expected, got)}, {
        "model": {
            "inputs": {i.name: i.to_json() for i in signature.inputs},
            "outputs": {o.name: o.to_json() for o in signature.outputs},
        }
    }


def _export_tflite(
    reference: keras.Model,
    x: dict[str, Any],
    expected: dict[str, Any],
    tmp: Path,
    out: Path,
    quantize: str,
    data: _TFLiteData,
) -> tuple[dict[str, float], dict[str, Any], dict[str, Any]]:
    from keras_blueprints.export.tflite import TFLiteRunner, convert

    float_inputs = all("float" in str(t.dtype) for t in reference.inputs)
    rep = data.representative
    if rep is not None and "" in rep:
        rep = {reference.inputs[0].name: rep[""]}
    if quantize == "int8" and rep is None:
        specs = [(t.name, tuple(t.shape), str(t.dtype)) for t in reference.inputs]
        rep, data.representative_note = random_inputs(specs, 100, seed=3), "100 random examples"
    saved = Path(tempfile.mkdtemp(prefix=f".{out.name}.saved-", dir=out.parent))
    held = try_lock(saved)  # in use: not stale for a concurrent export's clean-up
    try:
        write_saved_model(str(saved), [reference], [endpoint_for("serving_default", reference)])

        dtypes = {t.name: str(t.dtype) for t in reference.inputs}

        def examples() -> Iterator[dict[str, Any]]:  # one example at a time, the inputs' dtypes
            for i in range(_rows(rep)):
                yield {n: a[i : i + 1].astype(dtypes.get(n, a.dtype)) for n, a in rep.items()}

        try:
            flat = convert(saved, quantize, examples if rep is not None else None, float_inputs)
        except (BlueprintError, UsageError):
            raise
        except Exception as exc:  # the converter raises ConverterError and friends
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RunError(
                "the TFLite converter refused the model",
                out,
                received=first[:300],
                hint="TFLite needs static shapes for recurrent layers: give every input a "
                "fixed length (e.g. --set params.length=10 when training), or export a "
                "SavedModel instead."
                + (
                    f" --quantize {quantize} may need ops TFLite cannot quantize: try another mode."
                    if quantize != "none"
                    else ""
                ),
            ) from exc
    finally:
        shutil.rmtree(saved, ignore_errors=True)
        if held is not None:
            os.close(held)
    (tmp / TFLITE_FILE).write_bytes(flat)
    runner = TFLiteRunner(tmp / TFLITE_FILE)
    got = runner(x)
    stored = runner.details()
    signatures = {
        "serving_default": {
            "inputs": {t.name: t.to_json() for t in runner.inputs},
            "outputs": {
                n: {"shape": d["shape"], "dtype": "float32" if d["scale"] else d["dtype"]}
                for n, d in stored["outputs"].items()
            },
        }
    }
    diff = max_abs_diff(expected, got)
    quantization = {
        "mode": quantize,
        "file_bytes": len(flat),
        "max_abs_diff": diff,
        "stored": stored,
        "representative": data.representative_note if quantize == "int8" else None,
        **_compare_metric(reference, runner, data),
    }
    return {"serving_default": diff}, signatures, quantization


@dataclass
class _TFLiteData:
    """The run's data for a TFLite export: calibration inputs, labelled evaluation data."""

    representative: dict[str, Any] | None = None
    representative_note: str | None = None
    x: dict[str, Any] | None = None
    y: Any = None
    note: str | None = None


def _tflite_data(src: _Source, bp: Blueprint | None, representative: int) -> _TFLiteData:
    """Training inputs (at most ``representative``) and test (else validation) data."""
    found = _TFLiteData()
    if src.run_dir is None or bp is None or bp.data is None or bp.data.source is None:
        return found
    import json

    from keras_blueprints.data import make_datasets

    try:
        info = json.loads((src.run_dir / RUN_FILE).read_text(encoding="utf-8"))
        datasets = make_datasets(
            bp,
            bp.data,
            base_dir=Path(info.get("base_dir", src.run_dir)),
            seed=bp.train.seed if bp.train is not None else 0,
            batch_size=32,
        )
        rep, _ = datasets.sample("train", representative)
        split = next(
            (s for s in ("test", "validation") if datasets.unshuffled(s) is not None), None
        )
        x, y = datasets.sample(split, METRIC_EXAMPLES) if split else (None, None)
    except (BlueprintError, OSError, ValueError):
        return found  # data moved or gone: random calibration, no metric
    found.representative = rep if isinstance(rep, Mapping) else None
    if found.representative is None:
        found.representative = {"": rep}  # one unnamed input: named below
    found.representative_note = f"{_rows(found.representative)} training examples"
    if split is not None and y is not None and not isinstance(y, Mapping):
        found.x, found.y = x, y
        found.note = f"{len(y)} {split} examples"
    return found


def _compare_metric(reference: keras.Model, runner: Any, data: _TFLiteData) -> dict[str, Any]:
    """The Keras and TFLite models' metric on the labelled data (accuracy or MSE)."""
    import numpy as np

    empty = {"metric": None, "keras": None, "tflite": None, "difference": None, "data": None}
    if data.x is None or len(reference.outputs) != 1:
        return empty
    names = [t.name for t in reference.inputs]
    x = data.x if isinstance(data.x, Mapping) else {names[0]: data.x}
    x = {n: x[n] for n in names}
    want = next(iter(_outputs(reference, x).values()))
    have = next(iter(runner(x).values()))
    y = np.asarray(data.y)
    metric, keras_score = _score(want, y)
    _, lite_score = _score(have, y)
    return {
        "metric": metric,
        "keras": keras_score,
        "tflite": lite_score,
        "difference": lite_score - keras_score,
        "data": data.note,
    }


def _score(predicted: Any, y: Any) -> tuple[str, float]:
    """Accuracy for class scores (integer or one-hot labels), else mean squared error."""
    import numpy as np

    predicted = np.asarray(predicted, dtype="float64")
    classes = predicted.ndim >= 2 and predicted.shape[-1] > 1
    if classes and y.shape == predicted.shape[:-1] and y.dtype.kind in "iub":
        return "accuracy", float(np.mean(np.argmax(predicted, -1) == y))
    if classes and y.shape == predicted.shape:
        return "accuracy", float(np.mean(np.argmax(predicted, -1) == np.argmax(y, -1)))
    if y.size == predicted.size:
        diff = predicted.reshape(-1) - y.astype("float64").reshape(-1)
        return "mse", float(np.mean(diff**2))
    return "mse", float("nan")


# -- small things ----------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    return {
        "keras_blueprints": __version__,
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "python": platform.python_version(),
    }
