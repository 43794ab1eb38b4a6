"""``blueprint plot FILE -o model.png``: draw a blueprint's architecture with Graphviz.

The DOT text comes from :mod:`keras_blueprints.views.diagram`; the ``dot`` program
renders it in the format the output's suffix names. A ``.dot`` (or ``.gv``)
output, or no ``-o`` at all (DOT on standard output), needs no Graphviz, and
with ``--no-shapes`` the model is not built, so TensorFlow is not imported.
With ``--expand`` each Python block is drawn as a cluster of the Keras layers it
built (read from the built model, so ``--expand`` builds it even with ``--no-shapes``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

from keras_blueprints.cli import EXIT_BLUEPRINT, EXIT_INTERNAL, EXIT_OK, add_overrides, command
from keras_blueprints.views.diagram import RANKDIRS

__all__ = ["RENDERED_FORMATS", "TEXT_SUFFIXES", "write_atomic"]

TEXT_SUFFIXES = (".dot", ".gv")
"""Suffixes written as DOT text, without Graphviz."""

RENDERED_FORMATS = {
    ".png": "png",
    ".svg": "svg",
    ".pdf": "pdf",
    ".jpg": "jpg",
    ".jpeg": "jpg",
    ".gif": "gif",
    ".eps": "eps",
    ".ps": "ps",
}
"""Suffixes rendered by Graphviz, and the ``dot -T`` format of each."""

INSTALL_HINT = "install Graphviz (apt-get install graphviz; brew install graphviz)"
DOT_TIMEOUT_S = 300


@command("plot", "draw a blueprint's architecture (.png, .svg, .pdf with Graphviz; .dot text)")
def configure(parser: argparse.ArgumentParser) -> None:
    """Adds the command's arguments."""
    parser.add_argument("file", metavar="FILE", help="blueprint file or zoo:NAME")
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="output file; its suffix picks the format: "
        + ", ".join([*RENDERED_FORMATS, *TEXT_SUFFIXES, ".html (interactive)"])
        + " (default: DOT text on standard output)",
    )
    parser.add_argument(
        "--no-shapes",
        action="store_true",
        help="leave output shapes (and the .html page's parameters) out "
        "(the model is not built; TensorFlow is not imported)",
    )
    parser.add_argument(
        "--rankdir",
        choices=RANKDIRS,
        default="TB",
        help="layout direction: TB (top to bottom, the default), LR, BT or RL",
    )
    parser.add_argument(
        "--dpi",
        type=_positive_int,
        metavar="N",
        help="dots per inch of a rendered bitmap (default: Graphviz's 96)",
    )
    parser.add_argument(
        "--expand",
        action="store_true",
        help="draw each Python block as a cluster of the Keras layers it built "
        "(builds the model; .html shows blocks as it always does)",
    )
    parser.add_argument(
        "--args",
        action="store_true",
        dest="arguments",
        help="show key arguments (filters, units, kernel, strides, pool, activation) in nodes",
    )
    add_overrides(parser)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {text!r}")
    return value


def needs_keras(args: argparse.Namespace) -> bool:
    """Whether the command will build (so the CLI imports Keras quietly first).

    Not when the output needs Graphviz and ``dot`` is missing: ``run`` then
    fails at once, before TensorFlow's seconds of import are spent.
    """
    return (not args.no_shapes or args.expand) and not _dot_missing(args)


def _dot_missing(args: argparse.Namespace) -> bool:
    """Whether ``-o`` names a rendered format and Graphviz's ``dot`` is not on PATH."""
    if not args.output:
        return False
    return Path(args.output).suffix.lower() in RENDERED_FORMATS and shutil.which("dot") is None


def _fail(message: str, status: int = EXIT_BLUEPRINT) -> int:
    print(f"blueprint plot: error: {message}", file=sys.stderr)
    return status


def run(args: argparse.Namespace) -> int:
    """Writes the diagram of the blueprint; returns the exit status."""
    from keras_blueprints.api import load
    from keras_blueprints.views.diagram import to_dot

    output = Path(args.output) if args.output else None
    fmt = None
    dot = None
    if output is not None and output.suffix.lower() == ".html":
        return _write_html(args, output)
    if output is not None:
        suffix = output.suffix.lower()
        if suffix not in TEXT_SUFFIXES and suffix not in RENDERED_FORMATS:
            known = ", ".join([*RENDERED_FORMATS, *TEXT_SUFFIXES])
            return _fail(f"cannot tell the format of '{output}'; use one of the suffixes {known}.")
        fmt = RENDERED_FORMATS.get(suffix)
        if fmt is not None:
            dot = shutil.which("dot")
            if dot is None:
                return _fail(
                    f"Graphviz's 'dot' program is not on PATH, so '{output.name}' cannot be "
                    f"rendered; {INSTALL_HINT}, or write a .dot file instead."
                )
    bp = load(args.file, args.overrides, allow_read=args.allow_read)
    shapes = blocks = None
    if args.expand:
        view = _built(bp)
        shapes = None if args.no_shapes else view.shapes
        blocks = view.blocks
    elif not args.no_shapes:
        shapes = _shapes(bp)
    text = to_dot(
        bp,
        shapes,
        rankdir=args.rankdir,
        dpi=args.dpi,
        arguments=args.arguments,
        expand=blocks,
    )
    if output is None:
        sys.stdout.write(text)
        return EXIT_OK
    if dot is None:
        data = text.encode("utf-8")
    else:
        done = subprocess.run(
            [dot, f"-T{fmt}"],
            input=text.encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT_S,
        )
        if done.returncode != 0:
            reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
            return _fail(
                f"Graphviz's dot failed (exit status {done.returncode}): "
                f"{reason[0] if reason else 'no message'}. "
                "This is likely a bug in keras-blueprints.",
                EXIT_INTERNAL,
            )
        data = done.stdout
    try:
        write_atomic(output, data)
    except OSError as exc:
        return _fail(f"cannot write '{output}': {exc.strerror or exc}.")
    print(f"{output}: {bp.name}, {len(bp.inputs)} input(s), {len(bp.nodes)} node(s)")
    return EXIT_OK


def _write_html(args: argparse.Namespace, output: Path) -> int:
    from keras_blueprints.api import load
    from keras_blueprints.views.interactive import to_html

    bp = load(args.file, args.overrides, allow_read=args.allow_read)
    shapes = params = None
    if not args.no_shapes:
        view = _built(bp)
        shapes, params = view.shapes, view.params
    try:
        write_atomic(output, to_html(bp, shapes, params).encode("utf-8"))
    except OSError as exc:
        return _fail(f"cannot write '{output}': {exc.strerror or exc}.")
    print(f"{output}: {bp.name}, {len(bp.inputs)} input(s), {len(bp.nodes)} node(s)")
    return EXIT_OK


def _built(bp):
    import keras

    from keras_blueprints.views.built import built_view

    keras.backend.clear_session()
    return built_view(bp)


def _shapes(bp) -> dict[str, str]:
    import keras

    from keras_blueprints.views.diagram import output_shapes

    keras.backend.clear_session()
    return output_shapes(bp)


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Writes ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The bytes go to a temporary file in the same folder, which then replaces
    ``path`` (``os.replace``: atomic on POSIX and Windows). The file gets the
    usual permissions (``0o666`` less the umask).

    Args:
        path: The file to write.
        data: Its new content.

    Raises:
        OSError: The folder is missing or not writable, or ``path`` is a folder.
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
