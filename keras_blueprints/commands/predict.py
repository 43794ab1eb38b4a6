"""``blueprint predict RUN_DIR INPUT.npy -o OUT.npy``: run a trained model on a batch."""

from __future__ import annotations

import argparse

from ..cli import EXIT_OK, command


@command("predict", "run a trained model on inputs from a .npy/.npz file; writes .npy/.npz")
def configure(parser: argparse.ArgumentParser) -> None:
    """Adds the command's arguments."""
    parser.add_argument("model", metavar="RUN_DIR", help="a run directory (or a .keras file)")
    parser.add_argument(
        "input",
        metavar="INPUT",
        help=".npy (a model with one input) or .npz with one array per input name",
    )
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help=".npy or .npz")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N")


def needs_keras(args: argparse.Namespace) -> bool:
    """Predicting loads the model."""
    return True


def run(args: argparse.Namespace) -> int:
    """Predicts and writes the outputs; returns the exit status."""
    from ..training.predict import predict_file

    shapes = predict_file(args.model, args.input, args.output, batch_size=args.batch_size)
    for name, shape in shapes.items():
        print(f"{name}: {shape}")
    print(f"wrote {args.output}")
    return EXIT_OK
