"""``blueprint evaluate RUN_DIR``: metrics of a trained run on its test data (or other data)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from keras_blueprints.cli import EXIT_OK, add_overrides, command
from keras_blueprints.commands.train import (
    _positive,
    add_data_option,
    configure_runtime,
    data_override,
    print_metrics,
)


@command("evaluate", "evaluate a trained run on its test data, or on --data")
def configure(parser: argparse.ArgumentParser) -> None:
    """Adds the command's arguments."""
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run directory from blueprint train")
    add_data_option(parser, "data to evaluate on instead of the run's test data")
    parser.add_argument(
        "--batch-size", type=_positive, metavar="N", help="examples per batch (default: the run's)"
    )
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    add_overrides(parser)


MEMORY_HINT = "Evaluate in smaller batches: --batch-size N (default: the run's batch size)"


def needs_keras(args: argparse.Namespace) -> bool:
    """Evaluating loads the model: its file is checked, the run's runtime configured, first."""
    from keras_blueprints.training.modelfile import check_keras_file
    from keras_blueprints.training.rundir import MODEL_FILE

    model_file = Path(args.run_dir) / MODEL_FILE
    if model_file.exists() or model_file.is_symlink():  # a missing one: evaluate says so
        check_keras_file(model_file)
    configure_runtime(Path(args.run_dir) / "blueprint.yaml", list(args.overrides), args.allow_read)
    return True


def run(args: argparse.Namespace) -> int:
    """Evaluates and prints the metrics; returns the exit status."""
    from keras_blueprints.training.run import evaluate

    data = data_override(args.data)[1] if args.data else None
    metrics = evaluate(
        args.run_dir,
        args.overrides,
        data=data,
        allow_read=args.allow_read,
        batch_size=args.batch_size,
    )
    from keras_blueprints.report import write_report

    write_report(args.run_dir)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print_metrics(metrics)
    return EXIT_OK
