"""``blueprint zoo``: list the blueprints shipped with the package."""

from __future__ import annotations

import argparse

from keras_blueprints.cli import EXIT_OK, command


@command("zoo", "list the zoo blueprints (use them as zoo:NAME)")
def configure(parser: argparse.ArgumentParser) -> None:
    """Adds the command's arguments."""
    parser.add_argument("--paths", action="store_true", help="print file paths too")


def run(args: argparse.Namespace) -> int:
    """Prints one zoo blueprint per line with its description."""
    from keras_blueprints.loading import zoo
    from keras_blueprints.loading.document import load_document

    rows = []
    for name in zoo.names():
        doc = load_document(zoo.path(name))
        description = str(doc.data.get("description", "")).strip().splitlines()
        rows.append((f"zoo:{name}", description[0] if description else "", str(zoo.path(name))))
    width = max((len(r[0]) for r in rows), default=0)
    for name, description, path in rows:
        line = f"{name:<{width}}  {description}"
        print(line + (f"  [{path}]" if args.paths else ""))
    return EXIT_OK
