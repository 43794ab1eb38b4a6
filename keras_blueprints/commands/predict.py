"""``blueprint predict MODEL INPUT -o OUT``: run a trained or exported model on a batch.

``INPUT`` is ``.npy``, ``.npz`` or ``.csv``; ``OUT`` is ``.npy``, ``.npz`` or ``.csv``
(one row per example: the predicted class, named as in the training data, and the
probabilities).

``MODEL`` is a run directory, a ``.keras`` file, or a SavedModel directory
or ``.tflite`` file written by ``blueprint export`` (served without the blueprint).
"""

from __future__ import annotations

import argparse

from keras_blueprints.cli import EXIT_OK, command
from keras_blueprints.commands.train import _positive


@command(
    "predict",
    "run a trained model or a SavedModel on inputs from a .npy/.npz/.csv file; writes "
    ".npy/.npz/.csv",
)
def configure(parser: argparse.ArgumentParser) -> None:
    """Adds the command's arguments."""
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="a run directory, a .keras file, a SavedModel directory or a .tflite file (from "
        "blueprint export)",
    )
    parser.add_argument(
        "input",
        metavar="INPUT",
        help=".npy (a model with one input), .npz with one array per input name, or .csv (a "
        "table of feature columns, as the run was trained on; label columns are skipped)",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help=".npy, .npz, or .csv (one row per example: predicted class, its probability and "
        "every class's)",
    )
    parser.add_argument(
        "--batch-size",
        type=_positive,
        default=32,
        metavar="N",
        help="examples per batch (default 32; smaller uses less memory)",
    )
    parser.add_argument(
        "--signature",
        metavar="NAME",
        help="the SavedModel signature to call (default serving_default; e.g. encoder, decode)",
    )


MEMORY_HINT = "Predict in smaller batches: --batch-size N (default 32), or split the input file"


def needs_keras(args: argparse.Namespace) -> bool:
    """Predicting loads the model; the model and input files are checked first, without it."""
    from keras_blueprints.export.tflite import is_tflite
    from keras_blueprints.training.predict import check_input_file, check_model_path

    if not is_tflite(args.model):
        check_model_path(args.model)
    check_input_file(args.input)
    return True


def run(args: argparse.Namespace) -> int:
    """Predicts and writes the outputs; returns the exit status."""
    from keras_blueprints.export.tflite import is_tflite

    if is_tflite(args.model):
        from keras_blueprints.export.tflite import predict_file
    else:
        from keras_blueprints.training.predict import predict_file
    shapes = predict_file(
        args.model,
        args.input,
        args.output,
        batch_size=args.batch_size,
        signature=args.signature,
    )
    for name, shape in shapes.items():
        print(f"{name}: {shape}")
    print(f"wrote {args.output}")
    return EXIT_OK
