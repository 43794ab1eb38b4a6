"""The ``blueprint`` command line.

Each subcommand lives in ``keras_blueprints/commands/`` and registers itself
with :func:`command`; this module only parses arguments and turns errors into
``WHERE: error: ...`` lines (``FILE:LINE:COL`` for a blueprint, else the option or
the path) with the exit status of :func:`exit_status`, the one table of them (a
traceback only with ``--debug``). Command modules import TensorFlow inside their
``run`` function, never at import time, so ``blueprint validate --no-build`` stays
light.

``--import MODULE`` (every command, before or after its name, repeatable) imports
the user's own modules before any blueprint loads, so the layers, blocks and Keras
objects they register are there for it (:func:`import_modules`). Only the command
line imports code: a blueprint, a run directory or a model file never does.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from keras_blueprints._core.errors import (
    COMMAND_LINE,
    KerasBlueprintsError,
    Plain,
    RunError,
    UsageError,
    is_out_of_memory,
    report,
)
from keras_blueprints._core.registry import Registry

__all__ = [
    "COMMANDS",
    "EXIT_STATUS",
    "Command",
    "check_run_imports",
    "command",
    "exit_status",
    "import_modules",
    "main",
]

EXIT_OK = 0
EXIT_BLUEPRINT = 2  # every error of keras-blueprints: the user's to fix
EXIT_INTERNAL = 70  # sysexits' EX_SOFTWARE: distinct from diff's 1 and errors' 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C

EXIT_STATUS: dict[type[BaseException], int] = {
    KerasBlueprintsError: EXIT_BLUEPRINT,
    KeyboardInterrupt: EXIT_INTERRUPTED,
    Exception: EXIT_INTERNAL,
}
"""The exit status of each kind of error, the most specific class winning.

Every :class:`~keras_blueprints._core.errors.KerasBlueprintsError` (a blueprint,
usage, run, trial or search error, a duplicate name) is the user's to fix: 2, the
status of argparse's own usage errors. An interrupt is 130, or the status it
carries (a training run stopped by SIGTERM: 143; 128 + the signal, as shells
report it). Anything else is a bug: 70. The distributed search's own statuses
(69: no chief, 75: timed out) are results, not errors, and are returned by its
commands.
"""

COMMAND_MODULES = (
    "validate", "summary", "plot", "resolve", "diff", "schema", "zoo", "blocks",
    "train", "evaluate", "predict", "export", "space", "tune", "lsp", "inspect", "report",
)  # fmt: skip


@dataclass(frozen=True)
class Command:
    """A subcommand: its help line, how it adds arguments, and what it runs."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: Registry[Command] = Registry(
    "command",
    "Commands are modules of keras_blueprints.commands decorated with @command.",
)


def command(
    name: str, help: str
) -> Callable[[Callable[[argparse.ArgumentParser], None]], Callable]:
    """Registers a subcommand; decorate its ``configure(parser)`` function.

    The decorated module must also define ``run(args) -> int``; it is looked up
    on the module when the command runs.

    Args:
        name: The subcommand name.
        help: One line of help.

    Returns:
        The decorator.
    """

    def decorate(configure: Callable[[argparse.ArgumentParser], None]) -> Callable:
        module = sys.modules[configure.__module__]
        COMMANDS.register(name, Command(name, help, configure, lambda args: module.run(args)))
        return configure

    return decorate


def add_overrides(parser: argparse.ArgumentParser) -> None:
    """Adds ``--set KEY=VALUE`` and ``--allow-read DIR`` (both repeatable) to a subcommand.

    Every command that loads a blueprint takes both: the overrides, and the folders
    its own data and vocabulary paths may be read below (:func:`add_allow_read`).
    """
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a value, e.g. --set params.width=32 --set graph.stem.filters=48",
    )
    add_allow_read(parser)


def add_allow_read(parser: argparse.ArgumentParser) -> None:
    """Adds ``--allow-read DIR`` (repeatable): a folder a blueprint's paths may read below."""
    parser.add_argument(
        "--allow-read",
        dest="allow_read",
        action="append",
        default=[],
        metavar="DIR",
        help="let the blueprint read data and vocabulary files below DIR (by default only"
        " below its own folder and the current directory)",
    )


def _count(text: str) -> int:
    """A positive integer, also written ``1e9`` or ``2_000_000_000``."""
    try:
        value = float(text) if "e" in text.lower() else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a positive integer: {text!r}") from None
    if value != int(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"not a positive integer: {text!r}")
    return int(value)


def add_limits(parser: argparse.ArgumentParser) -> None:
    """Adds ``--max-params`` and ``--max-data`` (see :mod:`keras_blueprints._core.limits`)."""
    from keras_blueprints._core.limits import DEFAULT_MAX_DATA, DEFAULT_MAX_PARAMS, ENV

    parser.add_argument(
        "--max-params",
        type=_count,
        default=None,
        metavar="N",
        help=f"most parameters a model may have (default {DEFAULT_MAX_PARAMS:.0e}, or"
        f" ${ENV['max_params']})",
    )
    parser.add_argument(
        "--max-data",
        type=_count,
        default=None,
        metavar="N",
        help="most elements of data held at once: an example, a generated data set, the"
        f" shuffle buffer, a batch (default {DEFAULT_MAX_DATA:.0e}, or ${ENV['max_data']})",
    )


@contextlib.contextmanager
def _limits_from(args: argparse.Namespace) -> Iterator[None]:
    """Sets the limits' environment variables from the flags while a command runs.

    The environment (not a global of this process) carries them, so the processes a
    command starts (distributed tuning workers) are held to the same limits.
    """
    from keras_blueprints._core.limits import ENV

    saved = {}
    for field_name, variable in ENV.items():
        value = getattr(args, field_name, None)
        if value is not None:
            saved[variable] = os.environ.get(variable)
            os.environ[variable] = str(value)
    try:
        yield
    finally:
        for variable, value in saved.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value


IMPORT_HELP = (
    "import a Python module first (repeatable): a dotted name importable from the current"
    " directory or the Python path, or a .py file; the layers, blocks and Keras objects it"
    " registers can then be named in blueprints"
)

READS_RUN = {
    "train": "resume",
    "evaluate": "run_dir",
    "export": "source",
    "predict": "model",
    "inspect": "target",
    "tune": "resume",
}
"""The argument naming the run or search directory (or a model file in one) each command
reads back: the modules it was started with (``--import``) must be given again."""


@contextlib.contextmanager
def _current_directory_importable(wanted: bool) -> Iterator[None]:
    """Puts the current directory first on ``sys.path`` while a command runs, if ``wanted``.

    As ``python -m`` does, so that ``--import mylayers`` finds ``./mylayers.py`` (and what
    it imports later, when its functions run); the path is restored afterwards. Without
    ``--import`` the path is left alone: a file of the current directory never shadows a
    module a command imports.
    """
    cwd = os.getcwd()
    added = wanted and cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        yield
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(cwd)


def _is_file_entry(entry: str) -> bool:
    """Whether ``--import`` names a file (``mylayers.py``, ``lib/layers.py``), not a module."""
    separators = [os.sep] + ([os.altsep] if os.altsep else [])
    return entry.endswith(".py") or any(sep in entry for sep in separators)


def _import_file(entry: str) -> str:
    """Imports a ``.py`` file as the module named by its stem; returns its absolute path."""
    import importlib.util

    path = Path(entry).expanduser().resolve()
    option = f"--import {entry}"
    if not path.is_file() or path.suffix != ".py":
        raise UsageError(
            f"no Python file '{entry}'",
            option,
            expected="a module name (my_package.layers) or the path of a .py file",
            received=Plain("no such file" if not path.exists() else "not a .py file"),
        )
    name = path.stem
    if not name.isidentifier():
        raise UsageError(
            f"'{path.name}' cannot be imported: '{name}' is not a module name",
            option,
            expected="a file named like a Python module (letters, digits, underscores)",
            received=path.name,
        )
    existing = sys.modules.get(name)
    if existing is not None:
        if Path(getattr(existing, "__file__", None) or "").resolve() == path:
            return str(path)  # given twice, or as a name and as a file
        raise UsageError(
            f"cannot import '{entry}' as module '{name}': a module of that name is already"
            " imported",
            option,
            expected=f"a file whose name is not that of another module ('{name}')",
            received=Plain(f"'{name}' from {getattr(existing, '__file__', None) or 'Python'}"),
            hint="Rename the file.",
        )
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has one
        raise UsageError(f"cannot import '{entry}'", option)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return str(path)


def _import_failed(entry: str, exc: Exception) -> UsageError:
    """The usage error for a module that could not be imported: its exception, and where."""
    hint = None
    if isinstance(exc, ModuleNotFoundError) and _names_it(entry, exc.name):
        where = entry.replace(".", "/")
        hint = (
            f"Run blueprint in the folder that holds {where}.py (or the package {where}),"
            " give the file's path (--import path/to/file.py), or add its folder to PYTHONPATH"
        )
    elif isinstance(exc, ModuleNotFoundError) and exc.name:
        hint = f"'{entry}' imports '{exc.name}', which is not installed"
    elif isinstance(exc, SyntaxError) and exc.filename:
        hint = f"The error is at {exc.filename}:{exc.lineno}; run with --debug for the traceback"
    else:
        frames = traceback.extract_tb(exc.__traceback__)
        package = str(Path(__file__).resolve().parent)
        theirs = [f for f in frames if not f.filename.startswith(("<", package))] or frames
        if theirs:  # the innermost line of the user's code, not of the registries it called
            last = theirs[-1]
            hint = f"It was raised at {last.filename}:{last.lineno}; run with --debug for the"
            hint += " traceback"
    text = str(exc).strip().rstrip(".")
    return UsageError(
        f"cannot import '{entry}'",
        f"--import {entry}",
        expected="a module that imports without error (a dotted name importable from the"
        " current directory or the Python path, or a .py file)",
        received=Plain(f"{type(exc).__name__}: {text}" if text else type(exc).__name__),
        hint=hint,
    )


def _names_it(entry: str, missing: str | None) -> bool:
    """Whether the module not found is ``entry`` itself (or a package on its way)."""
    return bool(missing) and (entry == missing or entry.startswith(f"{missing}."))


def import_modules(entries: Sequence[str]) -> list[str]:
    """Imports the modules given with ``--import``, in order, before any blueprint loads.

    Importing a module runs its decorators: ``@keras_blueprints.register_layer``,
    ``@keras_blueprints.register_block`` and ``keras.saving.register_keras_serializable``
    add its components to the registries, as an installed plugin's would. A dotted name is
    imported with :func:`importlib.import_module` (the current directory is on
    ``sys.path`` while a command runs, as with ``python -m``); an entry ending in ``.py``
    or holding a path separator is a file, imported as the module named by its stem.

    Args:
        entries: What the user wrote after each ``--import``.

    Returns:
        The entries as a run records them: module names as given, files as absolute paths.

    Raises:
        UsageError: A module could not be imported (``--import NAME: error: ...``, with
            the exception's type and message); the original exception is its cause.
    """
    done: list[str] = []
    for entry in entries:
        try:
            if _is_file_entry(entry):
                recorded = _import_file(entry)
            else:
                importlib.import_module(entry)
                recorded = entry
        except KerasBlueprintsError as exc:
            if isinstance(exc, UsageError) and exc.option == f"--import {entry}":
                raise
            raise _import_failed(entry, exc) from exc
        except Exception as exc:
            raise _import_failed(entry, exc) from exc
        if recorded not in done:
            done.append(recorded)
    return done


def check_run_imports(args: argparse.Namespace) -> None:
    """Asks for the modules a run was trained with when a command reads that run back.

    A run directory records the ``--import`` modules of its training (``imports`` in
    ``run.json``; a search in ``search.json``) but never imports them itself: it may come
    from someone else, and loading one must not run code. Resuming, evaluating, exporting
    or predicting from it needs them given again.

    Args:
        args: The parsed command line, its ``--import`` entries already imported.

    Raises:
        UsageError: A module the run was trained with is not given with ``--import``.
    """
    from keras_blueprints.training.rundir import STATE_FILES, recorded_imports

    attribute = READS_RUN.get(getattr(getattr(args, "_command", None), "name", ""))
    target = getattr(args, attribute, None) if attribute else None
    if not isinstance(target, str) or not target:
        return
    path = Path(target)
    run_dir = path if path.is_dir() else path.parent
    given = {_normalized(entry) for entry in args.imports}
    missing = [m for m in recorded_imports(run_dir) if _normalized(m) not in given]
    if not missing:
        return
    wanted = " ".join(f"--import {m}" for m in missing)
    received = " ".join(f"--import {m}" for m in args.imports) or "no --import"
    kind = "search" if (run_dir / STATE_FILES[1]).is_file() else "run"
    raise UsageError(
        f"{kind} '{run_dir}' was started with components imported by {wanted}",
        "--import",
        expected=f"the same modules again: {wanted}",
        received=Plain(received),
        hint=f"Add {wanted}: a run directory never imports code by itself",
    )


def _normalized(entry: str) -> str:
    return str(Path(entry).expanduser().resolve()) if _is_file_entry(entry) else entry


def _parser() -> argparse.ArgumentParser:
    for module in COMMAND_MODULES:
        importlib.import_module(f"keras_blueprints.commands.{module}")
    parser = argparse.ArgumentParser(
        prog="blueprint",
        description="Declarative Keras architectures: validate, build, train, tune and export YAML"
        " blueprints.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument(
        "--import", dest="imports", action="append", default=[], metavar="MODULE", help=IMPORT_HELP
    )
    from keras_blueprints import __version__

    parser.add_argument("--version", action="version", version=f"keras-blueprints {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        cmd = COMMANDS.lookup(name)
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        p.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks"
        )
        p.add_argument(  # its own dest: a subcommand's values would replace the main parser's
            "--import",
            dest="imports_after",
            action="append",
            default=[],
            metavar="MODULE",
            help=IMPORT_HELP,
        )
        add_limits(p)
        cmd.configure(p)
        p.set_defaults(_command=cmd)
    return parser


def quiet_tensorflow() -> None:
    """Silences TensorFlow's C++ start-up chatter unless the user set the level."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def import_keras_quietly() -> None:
    """Imports Keras (and TensorFlow) with the process's stderr muted.

    TensorFlow's C++ runtime writes start-up notices straight to file
    descriptor 2 (oneDNN, CUDA probing) before Python logging exists, and no
    environment variable silences all of them. Commands that build call this so
    their output is only theirs; ``--debug`` keeps the notices. An import
    failure still raises, after stderr is restored. Keras imported already (by an
    ``--import`` module) still has its devices probed here, muted, once.
    """
    if _probed:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras  # noqa: F401
        import tensorflow as tf

        tf.config.list_logical_devices()  # device probing logs happen here, muted too
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    _probed.append(True)


_probed: list[bool] = []
"""Not empty once :func:`import_keras_quietly` has run in this process."""

_TENSORFLOW_NOTICE = re.compile(
    r"^(?:[IWEF]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] .*"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called .*)$"
)
"""A start-up line of TensorFlow's C++ runtime (``I0000 00:00:17.. 123 port.cc:153] ...``)."""


@contextlib.contextmanager
def _without_tensorflow_notices() -> Iterator[None]:
    """Keeps what a user's module writes to stderr, less TensorFlow's start-up notices.

    A module given with ``--import`` may import Keras, whose C++ runtime writes straight
    to file descriptor 2: the descriptor goes to a temporary file meanwhile, and its
    lines come back afterwards except those notices.
    """
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        try:
            os.dup2(held.fileno(), 2)
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text = held.read().decode("utf-8", errors="replace")
            kept = [ln for ln in text.splitlines() if not _TENSORFLOW_NOTICE.match(ln)]
            if kept:
                print("\n".join(kept), file=sys.stderr)


MEMORY_HINT = (
    "Make it smaller: a lower --batch-size (or data.batch_size), smaller inputs or a narrower model"
)
"""What an out-of-memory error suggests, unless the command's module sets ``MEMORY_HINT``."""

_SUBJECTS = ("file", "files", "resume", "model", "run_dir", "source")
"""The arguments naming what a command works on, in order: an error it cannot place in a
blueprint is located there."""


def exit_status(exc: BaseException) -> int:
    """The exit status for an exception that ended a command (see :data:`EXIT_STATUS`).

    Args:
        exc: The exception.

    Returns:
        The status of the most specific class in :data:`EXIT_STATUS`; an interrupt
        that carries its own ``status`` (SIGTERM: 143) returns that.
    """
    status = getattr(exc, "status", None)
    if isinstance(exc, KeyboardInterrupt) and isinstance(status, int):
        return status
    for kind in type(exc).__mro__:
        if kind in EXIT_STATUS:
            return EXIT_STATUS[kind]
    return EXIT_INTERNAL


def user_error(exc: BaseException, args: argparse.Namespace) -> KerasBlueprintsError | None:
    """The one place where an exception of another library becomes a user error.

    Running out of memory (host ``MemoryError`` or TensorFlow's
    ``ResourceExhaustedError``) is not a bug: the batch, the inputs or the model are
    too large for this machine. It becomes a :class:`RunError` at the command's file,
    model or run directory (a :class:`UsageError` when the command names none) saying
    what ran out and how to make it smaller (the command module's ``MEMORY_HINT``).

    Args:
        exc: The exception a command raised.
        args: The parsed command line.

    Returns:
        The error to report with exit status 2, or None for an internal error (a bug).
    """
    if not is_out_of_memory(exc):
        return None
    command_name = getattr(getattr(args, "_command", None), "name", "blueprint")
    module = sys.modules.get(f"keras_blueprints.commands.{command_name}")
    subject = next((v for a in _SUBJECTS if (v := getattr(args, a, None))), None)
    subject = subject[0] if isinstance(subject, list) else subject
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    memory = "host memory" if isinstance(exc, MemoryError) else "memory (TensorFlow)"
    kind = RunError if subject else UsageError
    return kind(
        f"'{command_name}' ran out of {memory}",
        str(subject or COMMAND_LINE),
        expected="the model, a batch and its activations to fit in this machine's memory",
        received=Plain(f"{type(exc).__name__}: {text}" if text else type(exc).__name__),
        hint=getattr(module, "MEMORY_HINT", MEMORY_HINT),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 success, else that of :func:`exit_status` (2 an error of
            keras-blueprints, 70 an internal error, 130 an interrupt); ``diff`` also
            returns 1 when the blueprints differ.
    """
    quiet_tensorflow()
    parser = _parser()
    args = parser.parse_args(argv)
    args.imports = [*args.imports, *vars(args).pop("imports_after", [])]
    try:
        with _current_directory_importable(bool(args.imports)):
            return _run(args)
    except KerasBlueprintsError as err:
        if args.debug:
            raise
        print(report(err), file=sys.stderr)
        return exit_status(err)
    except KeyboardInterrupt as exc:
        print("interrupted", file=sys.stderr)
        return exit_status(exc)
    except Exception as exc:  # the user's to fix (out of memory), or an internal error
        if args.debug:
            raise
        err = user_error(exc, args)
        if err is not None:
            print(report(err), file=sys.stderr)
            return exit_status(err)
        print(
            f"blueprint: internal error: {type(exc).__name__}: {exc}\n"
            "  This is a bug in keras-blueprints; run again with --debug for the traceback.",
            file=sys.stderr,
        )
        return exit_status(exc)


def _run(args: argparse.Namespace) -> int:
    """Imports ``--import``'s modules, checks a run's, then runs the command."""
    if args.imports and not args.debug:
        with _without_tensorflow_notices():
            args.imports = import_modules(args.imports)  # before any blueprint loads
    else:
        args.imports = import_modules(args.imports)
    check_run_imports(args)
    module = sys.modules[f"keras_blueprints.commands.{args._command.name}"]
    needs_keras = getattr(module, "needs_keras", None)
    if needs_keras is not None and needs_keras(args) and not args.debug:
        import_keras_quietly()
    with _limits_from(args):
        return args._command.run(args)


if __name__ == "__main__":  # pragma: no cover
    # Run as `python -m keras_blueprints.cli`: use the package's copy of this module,
    # where the commands register themselves, not this __main__ copy.
    from keras_blueprints.cli import main as package_main

    sys.exit(package_main())
