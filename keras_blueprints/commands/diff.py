"""``blueprint diff A B``: what differs between two resolved blueprints.

Like ``diff``, it exits 0 when the blueprints are the same (printing
nothing), 1 when they differ, 2 on a blueprint error. B defaults to A, so
``blueprint diff zoo:lenet5 --set-b params.activation=relu`` shows what an
override changes. When they differ, both models are built to report the
change in parameter count, unless ``--no-build``.
"""

from __future__ import annotations

import argparse

from keras_blueprints.cli import EXIT_OK, add_overrides, command, import_keras_quietly

__all__ = ["EXIT_DIFFERENT"]

EXIT_DIFFERENT = 1


@command("diff", "compare two blueprints: nodes, arguments, inputs, outputs, compile, parameters")
def configure(parser: argparse.ArgumentParser) -> None:
    """Adds the command's arguments."""
    parser.add_argument("a", metavar="A", help="first blueprint file or zoo:NAME")
    parser.add_argument("b", metavar="B", nargs="?", help="second blueprint (default: A)")
    add_overrides(parser)  # --set: both sides
    for side in ("a", "b"):
        parser.add_argument(
            f"--set-{side}",
            dest=f"overrides_{side}",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help=f"override a value in {side.upper()} only (after the --set overrides)",
        )
    parser.add_argument(
        "--no-build",
        action="store_true",
        help="compare without building the models (no parameter counts; never imports TensorFlow)",
    )


def run(args: argparse.Namespace) -> int:
    """Prints the differences; returns 0 (same), 1 (different)."""
    from keras_blueprints.api import load
    from keras_blueprints.views.diffing import diff_blueprints, format_diff

    b_file = args.b if args.b is not None else args.a
    a_overrides = [*args.overrides, *args.overrides_a]
    b_overrides = [*args.overrides, *args.overrides_b]
    a = load(args.a, a_overrides, allow_read=args.allow_read)
    b = load(b_file, b_overrides, allow_read=args.allow_read)
    diff = diff_blueprints(a, b)
    if diff.identical:
        return EXIT_OK
    print(f"--- {_title(args.a, a_overrides)}")
    print(f"+++ {_title(b_file, b_overrides)}")
    for line in format_diff(diff):
        print(line)
    if not args.no_build:
        if not args.debug:
            # Keras is imported only now that a build is needed (not for identical blueprints).
            import_keras_quietly()
        before, after = _count_params(a), _count_params(b)
        if before == after:
            print(f"parameters: {before:,} (unchanged)")
        else:
            print(f"parameters: {before:,} -> {after:,} ({after - before:+,})")
    return EXIT_DIFFERENT


def _title(file: str, overrides: list[str]) -> str:
    return " ".join([file, *(f"--set {o}" for o in overrides)])


def _count_params(bp) -> int:
    import keras

    from keras_blueprints.builders.model import build_model

    keras.backend.clear_session()
    return build_model(bp, compile=False).count_params()
