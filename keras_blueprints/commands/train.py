"""``blueprint train FILE``: fit a blueprint on its data and write a run directory."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from keras_blueprints.cli import EXIT_OK, add_overrides, command, exit_status

__all__ = ["add_runtime_options", "data_override", "print_metrics", "runtime_overrides"]


MEMORY_HINT = (
    "Make each step smaller: a lower --batch-size (data.batch_size), smaller inputs or a "
    "narrower model"
)


@command("train", "train a blueprint on its data; writes a resumable run directory")
def configure(parser: argparse.ArgumentParser) -> None:
    """Adds the command's arguments."""
    parser.add_argument(
        "file", metavar="FILE", nargs="?", help="blueprint file or zoo:NAME (not with --resume)"
    )
    add_data_option(parser)
    parser.add_argument("--epochs", type=_positive, metavar="N", help="override train.epochs")
    parser.add_argument(
        "--batch-size", type=_positive, metavar="N", help="override data.batch_size"
    )
    parser.add_argument(
        "--run-dir", metavar="DIR", help="where to write the run (default: runs/NAME-TIMESTAMP)"
    )
    parser.add_argument(
        "--resume", metavar="DIR", help="continue an interrupted run from its last finished epoch"
    )
    add_runtime_options(parser)
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bar (one line per epoch instead)"
    )
    add_overrides(parser)


def add_runtime_options(parser: argparse.ArgumentParser) -> None:
    """Adds ``--strategy``, ``--mixed-precision``, ``--jit-compile`` (the ``runtime:`` section)."""
    parser.add_argument(
        "--strategy",
        choices=("default", "one_device", "mirrored", "multi_worker", "tpu"),
        help="override runtime.strategy (tf.distribute)",
    )
    parser.add_argument(
        "--mixed-precision",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="override runtime.mixed_precision",
    )
    parser.add_argument(
        "--jit-compile",
        choices=("true", "false", "auto"),
        help="override runtime.jit_compile (XLA)",
    )


def runtime_overrides(args: argparse.Namespace) -> list[str]:
    """The overrides the runtime options stand for."""
    out = []
    if getattr(args, "strategy", None):
        out.append(f"runtime.strategy={args.strategy}")
    if getattr(args, "mixed_precision", None) is not None:
        out.append(f"runtime.mixed_precision={str(args.mixed_precision).lower()}")
    if getattr(args, "jit_compile", None):
        out.append(f"runtime.jit_compile={args.jit_compile}")
    return out


def add_data_option(parser: argparse.ArgumentParser, what: str = "training data") -> None:
    """Adds ``--data SOURCE`` (a built-in name, a file, a folder of images, or YAML).

    Args:
        parser: The command's parser.
        what: What the data is for, as the help says it (``training data``).
    """
    parser.add_argument(
        "--data",
        metavar="SOURCE",
        help=f"{what}: a built-in set (digits, spirals, shapes, sequences...), a .npz/.npy/"
        ".csv file, a folder of class sub-folders, or YAML such as '{csv: {path: d.csv, "
        "label: y}}'",
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, received {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {value}")
    return value


def data_override(value: str) -> tuple[str, Any]:
    """Turns ``--data VALUE`` into the override ``("data.source", source)``.

    Paths are made absolute when they exist, inside a YAML mapping too: the
    command line's paths are relative to the current directory, a blueprint's
    to its file. A folder becomes an ``images`` source.
    """
    path = Path(value)
    if path.exists():
        if path.is_dir():
            return ("data.source", {"images": {"directory": str(path.resolve())}})
        return ("data.source", str(path.resolve()))
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return ("data.source", value)  # the resolver reports what is wrong with it
    return ("data.source", _absolute_paths(parsed))


def _absolute_paths(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _absolute_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_absolute_paths(v) for v in value]
    if isinstance(value, str) and value and Path(value).exists():
        return str(Path(value).resolve())
    return value


def needs_keras(args: argparse.Namespace) -> bool:
    """Training always builds; the runtime is configured first (before TensorFlow starts)."""
    if args.resume:
        configure_runtime(Path(args.resume) / "blueprint.yaml", [], args.allow_read)
    elif args.file:
        configure_runtime(args.file, [*args.overrides, *runtime_overrides(args)], args.allow_read)
    return True


def configure_runtime(source: str | Path, overrides: list, allow_read: list | None = None) -> None:
    """Applies what the blueprint's ``runtime:`` must set before TensorFlow starts.

    Virtual CPU devices and the multi-worker strategy can only be set up before
    TensorFlow's runtime starts, and the command line starts it early (to mute
    its start-up messages), so they are configured here, first.

    Args:
        source: The blueprint (a run directory's ``blueprint.yaml`` when resuming).
        overrides: The command line's overrides.
        allow_read: The folders ``--allow-read`` allows.
    """
    from keras_blueprints.api import load
    from keras_blueprints.training.runtime import configure

    if isinstance(source, Path) and not source.is_file():
        return  # not a run directory: the command says so itself
    if isinstance(source, Path) and source.name == "blueprint.yaml":  # a run's own blueprint
        from keras_blueprints.training.run import load_run_blueprint

        runtime = load_run_blueprint(source.parent, overrides, allow_read or ()).runtime
    else:
        runtime = load(source, overrides, allow_read=allow_read or ()).runtime
    if runtime is not None:
        configure(runtime)


def run(args: argparse.Namespace) -> int:
    """Trains, prints the final metrics and where the run is; returns the exit status."""
    from keras_blueprints.training.run import RunInterrupted

    try:
        return _run(args)
    except RunInterrupted as stop:  # Ctrl-C or SIGTERM: the run is marked, and resumable
        print(stop.message, file=sys.stderr)
        return exit_status(stop)  # 130 for Ctrl-C, 143 for SIGTERM


def _run(args: argparse.Namespace) -> int:
    from keras_blueprints._core.errors import COMMAND_LINE, UsageError
    from keras_blueprints.training.run import resume, train

    # Keras' progress bar redraws itself with escape codes: one plain line per epoch when
    # the output is not a terminal (a log file, a pipe) or NO_COLOR is set.
    plain = not sys.stdout.isatty() or bool(os.environ.get("NO_COLOR"))
    verbose = 2 if args.quiet or plain else "auto"
    if args.resume:
        if (
            args.file
            or args.data
            or args.epochs
            or args.batch_size
            or args.overrides
            or runtime_overrides(args)
        ):
            raise UsageError(
                "--resume continues a run exactly as it was started",
                "--resume",
                expected="blueprint train --resume DIR (no FILE, --data, --epochs, --set...)",
            )
        result = resume(args.resume, verbose=verbose)
    else:
        if not args.file:
            raise UsageError(
                "which blueprint should be trained?",
                COMMAND_LINE,
                expected="blueprint train FILE  or  blueprint train --resume DIR",
            )
        overrides = list(args.overrides)
        if args.data:
            overrides.append(data_override(args.data))
        if args.epochs:
            overrides.append(f"train.epochs={args.epochs}")
        if args.batch_size:
            overrides.append(f"data.batch_size={args.batch_size}")
        overrides += runtime_overrides(args)
        result = train(
            args.file,
            overrides,
            run_dir=args.run_dir,
            verbose=verbose,
            allow_read=args.allow_read,
            imports=args.imports,
        )
    from keras_blueprints.training.console import stopping_line

    line = stopping_line(result.early_stopping)
    if line:
        print(line)
    print_metrics(result.metrics)
    from keras_blueprints.report import write_report

    write_report(result.run_dir)
    print(f"run directory: {result.run_dir}")
    return EXIT_OK


def print_metrics(metrics: dict[str, dict[str, float]]) -> None:
    """Prints metrics per split as a small table."""
    names = list(dict.fromkeys(k for split in metrics.values() for k in split))
    rows = [["", *names]]
    for split, values in metrics.items():
        rows.append([split, *(f"{values[n]:.4f}" if n in values else "" for n in names)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(
                cell.rjust(w) if i else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
