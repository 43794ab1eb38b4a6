"""``blueprint tune FILE``: search a blueprint's spaces; writes a resumable search directory."""

from __future__ import annotations

import argparse

from keras_blueprints.cli import EXIT_OK, add_overrides, command
from keras_blueprints.commands.train import _positive, add_data_option, data_override

__all__: list[str] = []


MEMORY_HINT = (
    "Make each trial smaller: --set data.batch_size=N, smaller inputs, or narrower choices in "
    "the search space"
)


@command("tune", "search a blueprint's hyperparameters; writes a resumable search directory")
def configure(parser: argparse.ArgumentParser) -> None:
    """Adds the command's arguments."""
    parser.add_argument(
        "file", metavar="FILE", nargs="?", help="blueprint file or zoo:NAME (not with --resume)"
    )
    parser.add_argument(
        "--tuner",
        choices=("random", "grid", "bayesian", "hyperband"),
        help="override tune.tuner",
    )
    parser.add_argument(
        "--max-trials", type=_positive, metavar="N", help="override tune.max_trials"
    )
    parser.add_argument(
        "--epochs", type=_positive, metavar="N", help="epochs per trial (Hyperband: max epochs)"
    )
    parser.add_argument(
        "--run-dir", metavar="DIR", help="where to write the search (default: runs/NAME-tune-...)"
    )
    add_data_option(parser)
    add_overrides(parser)
    parser.add_argument(
        "--resume", metavar="DIR", help="continue an interrupted search; finished trials are kept"
    )
    parser.add_argument(
        "--chief", metavar="HOST:PORT", help="distributed search: the oracle's address"
    )
    parser.add_argument(
        "--worker", metavar="ID", help="distributed search: run trials as worker ID (with --chief)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="TensorFlow threads for this process (pin each worker of a distributed search)",
    )
    parser.add_argument(
        "--timeout", type=float, metavar="S", help="chief: give up after S seconds (exit 75)"
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="worker: how long to wait for the chief to answer (default 30)",
    )
    parser.add_argument(
        "--tensorboard",
        action="store_true",
        help="write TensorBoard logs with each trial's hyperparameters (HParams) to"
        " tensorboard/ in the search directory: tensorboard --logdir DIR/tensorboard",
    )
    parser.add_argument("--quiet", action="store_true", help="print the final table only")


def needs_keras(args: argparse.Namespace) -> bool:
    """A search always builds. Threads are pinned here, before TensorFlow's runtime starts."""
    if args.threads is not None:
        from keras_blueprints.tuning.distributed import pin_threads

        pin_threads(args.threads)
    return True


def run(args: argparse.Namespace) -> int:
    """Runs the search (or a chief or worker of a distributed one); returns the exit status."""
    from keras_blueprints._core.errors import COMMAND_LINE, UsageError
    from keras_blueprints.tuning import resume_search, tune

    verbose = 0 if args.quiet else 1
    if args.worker is not None and args.chief is None:
        raise UsageError(
            "a worker needs the chief's address",
            "--chief",
            expected="blueprint tune FILE --worker ID --chief HOST:PORT",
        )
    if args.chief is not None and not (args.run_dir or args.resume):
        raise UsageError(
            "the chief and its workers share one search directory",
            "--run-dir",
            expected="--run-dir DIR, the same for the chief and every worker",
        )
    if args.resume:
        if (
            args.file
            or args.data
            or args.overrides
            or args.tuner
            or args.max_trials
            or args.epochs
            or args.tensorboard
        ):
            raise UsageError(
                "--resume continues a search exactly as it was started",
                "--resume",
                expected="blueprint tune --resume DIR (no FILE, --data, --set, --tuner...)",
            )

        def search():
            return resume_search(args.resume, verbose=verbose)

    else:
        if not args.file:
            raise UsageError(
                "which blueprint should be searched?",
                COMMAND_LINE,
                expected="blueprint tune FILE  or  blueprint tune --resume DIR",
            )
        overrides = list(args.overrides)
        if args.data:
            overrides.append(data_override(args.data))
        distributed = args.chief is not None

        def search():
            return tune(
                args.file,
                overrides,
                run_dir=args.run_dir,
                resume=distributed,  # chief and workers share one search directory
                tuner=args.tuner,
                max_trials=args.max_trials,
                epochs=args.epochs,
                verbose=verbose,
                allow_read=args.allow_read,
                imports=args.imports,
                tensorboard=args.tensorboard,
            )

    status = EXIT_OK
    if args.chief is not None:
        from keras_blueprints.tuning import distributed

        results: list = []

        def collect() -> None:
            results.append(search())

        if args.worker is not None:
            status = distributed.run_worker(
                args.worker, args.chief, collect, connect_timeout=args.connect_timeout
            )
        else:
            status = distributed.run_chief(args.chief, collect, timeout=args.timeout)
        result = results[0] if results else None
    else:
        result = search()
    if result is not None:
        if args.quiet:  # the search printed its table unless quiet
            from keras_blueprints.tuning.results import format_table

            print(format_table(result.trials))
        _print_result(result)
    return status


def _print_result(result) -> None:
    from keras_blueprints.commands.train import print_metrics

    print(f"best trial: {result.best_trial}  objective: {result.best_objective:.4f}")
    for name, value in result.best_values.items():
        print(f"  {name} = {value}")
    if result.metrics:
        print_metrics(result.metrics)
    print(f"search directory: {result.run_dir}")
    print(f"best blueprint: {result.run_dir / 'best.yaml'}")
