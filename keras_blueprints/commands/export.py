"""``blueprint export RUN_DIR_OR_MODEL --out DIR``: a verified SavedModel (or .keras, TFLite)."""

from __future__ import annotations

import argparse

from keras_blueprints.cli import EXIT_OK, command


@command("export", "export a trained model for serving (SavedModel, .keras, TFLite), verified")
def configure(parser: argparse.ArgumentParser) -> None:
    """Adds the command's arguments."""
    parser.add_argument("source", metavar="RUN_DIR_OR_MODEL", help="a run directory or .keras file")
    parser.add_argument("--out", required=True, metavar="DIR", help="the export directory")
    parser.add_argument(
        "--format",
        default="saved_model",
        metavar="FORMAT",
        help="saved_model (default; for TensorFlow Serving), keras, or tflite",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a non-empty --out (only once the new export is verified)",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        metavar="X",
        help="largest accepted |export - Keras| (default 1e-4 SavedModel, 1e-6 .keras, "
        "1e-3 TFLite)",
    )
    parser.add_argument(
        "--samples", type=int, default=32, metavar="N", help="examples in the verification batch"
    )
    lite = parser.add_argument_group("TFLite: post-training quantization")
    lite.add_argument(
        "--quantize",
        default="none",
        metavar="MODE",
        help="none (default), float16, dynamic (int8 weights) or int8 (full integer, "
        "calibrated on the run's training data); verified on its test data",
    )
    lite.add_argument(
        "--representative",
        type=int,
        default=100,
        metavar="N",
        help="training examples that calibrate --quantize int8 (default 100)",
    )
    group = parser.add_argument_group("encoder-decoders: the greedy 'decode' signature")
    group.add_argument("--max-length", type=int, metavar="N", help="tokens generated")
    group.add_argument("--start-token", type=int, metavar="ID", help="default: vocabulary - 2")
    group.add_argument("--end-token", type=int, metavar="ID", help="default: vocabulary - 1")


MEMORY_HINT = "Verify on fewer examples: --samples N (default 32)"


def needs_keras(args: argparse.Namespace) -> bool:
    """Exporting loads the model; the model file is checked first, without it."""
    from keras_blueprints.export.core import check_source

    check_source(args.source)
    return True


def run(args: argparse.Namespace) -> int:
    """Exports, verifies, prints the differences and the signatures; returns the exit status."""
    from keras_blueprints.export import export_model

    result = export_model(
        args.source,
        args.out,
        format=args.format,
        overwrite=args.overwrite,
        tolerance=args.tolerance,
        samples=args.samples,
        max_length=args.max_length,
        start_token=args.start_token,
        end_token=args.end_token,
        report=print,
        quantize=args.quantize,
        representative=args.representative,
    )
    for name, signature in result.record["signatures"].items():
        ins = ", ".join(f"{n} {_spec(s)}" for n, s in signature["inputs"].items())
        outs = ", ".join(f"{n} {_spec(s)}" for n, s in signature["outputs"].items())
        print(f"signature {name}: {ins} -> {outs}")
    quantization = result.record.get("quantization")
    if quantization is not None:
        print(_quantization_line(quantization))
    sample = result.record["verification"]["sample"]
    print(f"wrote {result.out} ({result.format}), verified on {sample}")
    return EXIT_OK


def _spec(spec: dict) -> str:
    shape = ", ".join("N" if d is None else str(d) for d in spec["shape"] or [])
    return f"{spec['dtype']}[{shape}]"


def _quantization_line(q: dict) -> str:
    line = f"quantization {q['mode']}: {q['file_bytes']} bytes"
    if q.get("metric") is not None:
        line += (
            f", {q['metric']} Keras {q['keras']:.4g} TFLite {q['tflite']:.4g} "
            f"(difference {q['difference']:+.4g}) on {q['data']}"
        )
    return line
