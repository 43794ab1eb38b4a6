"""``blueprint validate FILE...``: check blueprints, building them unless --no-build."""

from __future__ import annotations

import argparse
import sys

from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.cli import EXIT_BLUEPRINT, EXIT_OK, add_overrides, command


@command("validate", "check blueprints (exit 0 when all are valid, 2 otherwise)")
def configure(parser: argparse.ArgumentParser) -> None:
    """Adds the command's arguments."""
    parser.add_argument("files", nargs="+", metavar="FILE", help="blueprint files or zoo:NAME")
    parser.add_argument(
        "--no-build",
        action="store_true",
        help="check everything that needs no model (never imports TensorFlow)",
    )
    add_overrides(parser)


def needs_keras(args: argparse.Namespace) -> bool:
    """Whether the command will build (so the CLI imports Keras quietly first)."""
    return not args.no_build


def run(args: argparse.Namespace) -> int:
    """Validates each file, printing every error and warning found; returns the exit status.

    Warnings (a parameter nothing uses) go to stderr and leave the status at 0.
    """
    from keras_blueprints.api import load

    failed = 0
    for file in args.files:
        try:
            bp = load(file, args.overrides, allow_read=args.allow_read)
            for warning in bp.warnings:  # valid, but most likely a mistake
                print(warning.format(), file=sys.stderr)
            detail = f"{len(bp.nodes)} nodes"
            if not args.no_build:
                from keras_blueprints.builders.model import build_model

                model = build_model(bp)
                detail += f", {model.count_params():,} parameters"
                _clear()
        except BlueprintError as err:
            if args.debug:
                raise
            print(err.format(), file=sys.stderr)
            failed += 1
            continue
        print(f"{file}: ok ({detail})")
    return EXIT_BLUEPRINT if failed else EXIT_OK


def _clear() -> None:
    import keras

    keras.backend.clear_session()
