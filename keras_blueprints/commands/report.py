"""``blueprint report RUN_DIR``: write (or refresh) the run's ``report.html``."""

from __future__ import annotations

import argparse
from pathlib import Path

from keras_blueprints._core.errors import UsageError
from keras_blueprints.cli import EXIT_OK, command


@command("report", "write RUN_DIR/report.html: diagram, curves, metrics, pictures, settings")
def configure(parser: argparse.ArgumentParser) -> None:
    """Adds the command's arguments."""
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run directory from blueprint train")


def run(args: argparse.Namespace) -> int:
    """Writes the report and prints its path; returns the exit status."""
    from keras_blueprints.report import write_report

    if not Path(args.run_dir).is_dir():
        raise UsageError(
            "no such run directory", args.run_dir, expected="a run directory from blueprint train"
        )
    print(write_report(args.run_dir))
    return EXIT_OK
