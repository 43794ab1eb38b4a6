"""``blueprint inspect METHOD RUN_DIR_OR_MODEL``: what a trained convolutional model sees.

Methods: ``deconvnet`` and ``occlusion`` (Zeiler & Fergus 2014), ``feature-maps``,
``filters``, ``saliency`` and ``grad-cam`` (Selvaraju et al. 2017). Each writes PNGs
and ``METHOD.json`` into ``-o OUT_DIR`` (default ``RUN_DIR/inspect/METHOD``).
``deconvnet --top N`` runs over the data instead (the paper's Fig. 2): each layer's
strongest feature maps and their N strongest examples, into ``inspect/deconvnet-top``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from keras_blueprints.cli import EXIT_OK, add_allow_read, command
from keras_blueprints.commands.train import _positive, add_data_option

METHODS = ("deconvnet", "occlusion", "feature-maps", "filters", "saliency", "grad-cam")
SAMPLES = 4  # examples drawn one by one
TOP_SAMPLES = 512  # examples ranked by --top: a quick pass over a test split
MAPS = 4  # feature maps per layer with --top


@command("inspect", "draw what a trained convolutional model responds to (deconvnet, ...)")
def configure(parser: argparse.ArgumentParser) -> None:
    """Adds the command's arguments."""
    parser.add_argument("method", metavar="METHOD", choices=METHODS, help=", ".join(METHODS))
    parser.add_argument("target", metavar="RUN_DIR", help="a run directory or a .keras file")
    add_data_option(parser)
    parser.add_argument(
        "--layer", action="append", metavar="NODE", help="a blueprint node (repeatable)"
    )
    parser.add_argument(
        "--samples",
        type=_positive,
        metavar="N",
        help=f"examples looked at (default {SAMPLES}; {TOP_SAMPLES} with --top)",
    )
    parser.add_argument(
        "--top",
        type=_positive,
        metavar="N",
        help="deconvnet: the N examples of the data that activate each feature map most",
    )
    parser.add_argument(
        "--maps", type=_positive, metavar="N", help=f"with --top: feature maps per layer ({MAPS})"
    )
    parser.add_argument("--size", type=_positive, default=4, help="occlusion square side")
    parser.add_argument("--stride", type=_positive, default=2, help="occlusion step")
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT_DIR",
        help="default RUN_DIR/inspect/METHOD (deconvnet-top with --top)",
    )
    add_allow_read(parser)


def needs_keras(args: argparse.Namespace) -> bool:
    """Inspecting loads the model; its file is checked first, without TensorFlow."""
    from keras_blueprints.training.predict import check_model_path

    check_model_path(args.target)
    return True


def _mode(args: argparse.Namespace) -> str:
    """The method, or ``deconvnet-top``: names the output folder and its JSON.

    Raises:
        UsageError: ``--top`` or ``--maps`` with a method other than the deconvnet.
    """
    from keras_blueprints._core.errors import UsageError

    if args.top is None:
        if args.maps is not None:
            raise UsageError("--maps counts the feature maps of --top", "--maps",
                             expected="--top N too", received="no --top")  # fmt: skip
        return args.method
    if args.method != "deconvnet":
        raise UsageError(
            "--top ranks the examples of the deconvnet",
            "--top",
            expected="blueprint inspect deconvnet RUN_DIR --top N",
            received=f"inspect {args.method} --top {args.top}",
        )
    return "deconvnet-top"


def _out_dir(args: argparse.Namespace, mode: str) -> Path:
    if args.output:
        return Path(args.output)
    target = Path(args.target)
    base = target if target.is_dir() else target.parent
    return base / "inspect" / mode


def run(args: argparse.Namespace) -> int:
    """Runs the method and writes its PNGs and JSON; returns the exit status."""
    from keras_blueprints.commands.train import data_override
    from keras_blueprints.inspect.compute import inspect_examples, inspect_top
    from keras_blueprints.inspect.inputs import load_examples

    mode = _mode(args)
    samples = args.samples or (SAMPLES if args.top is None else TOP_SAMPLES)
    data = args.data
    if data is not None and Path(args.target).is_dir() and not data.endswith((".npy", ".npz")):
        data = data_override(data)[1]
    model, images, labels = load_examples(
        args.target, data, samples=samples, allow_read=tuple(args.allow_read or ())
    )
    out = _out_dir(args, mode)
    out.mkdir(parents=True, exist_ok=True)
    if args.top is not None:
        summary = inspect_top(
            model, images, labels, out, layers=args.layer, top=args.top, maps=args.maps or MAPS
        )
    else:
        summary = inspect_examples(
            args.method, model, images, labels, out, layers=args.layer, size=args.size,
            stride=args.stride,
        )  # fmt: skip
    (out / f"{mode}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {out}")
    return EXIT_OK
