"""``blueprint lsp``: the language server, on standard input and output."""

from __future__ import annotations

import argparse

from keras_blueprints.cli import EXIT_OK, command


@command("lsp", "run the language server for editors (LSP over stdio; see docs/editors.md)")
def configure(parser: argparse.ArgumentParser) -> None:
    """Adds the command's arguments (an editor passes none; --stdio is accepted)."""
    parser.add_argument(
        "--stdio", action="store_true", help="talk over standard input and output (the default)"
    )
    parser.add_argument(
        "--no-build",
        action="store_true",
        help="load only: never start the worker that builds with TensorFlow (no shape errors)",
    )


def run(args: argparse.Namespace) -> int:
    """Serves until the editor shuts the server down."""
    from keras_blueprints.lsp.server import serve

    serve(build=not args.no_build, imports=args.imports)
    return EXIT_OK
