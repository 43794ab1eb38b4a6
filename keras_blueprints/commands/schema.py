"""``blueprint schema [-o FILE] [--draft {07,2020-12}]``: the JSON Schema of blueprints.

Point an editor at the file to complete and check blueprints as they are
typed; with VS Code's YAML extension (which understands draft 07 fully, so
write the schema with ``--draft 07``), start a blueprint with::

    # yaml-language-server: $schema=./blueprint.schema.json

Never imports TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import sys

from keras_blueprints.cli import EXIT_BLUEPRINT, EXIT_OK, command


@command("schema", "print the JSON Schema of blueprints (for editor completion and checks)")
def configure(parser: argparse.ArgumentParser) -> None:
    """Adds the command's arguments."""
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the schema to FILE (default: standard output); then start blueprints with"
        "  # yaml-language-server: $schema=FILE",
    )
    parser.add_argument(
        "--draft",
        choices=("07", "2020-12"),
        default="2020-12",
        help="the JSON Schema draft to write (default: 2020-12); 07 for editors that do not"
        " understand 2020-12 fully (VS Code's YAML extension)",
    )


def run(args: argparse.Namespace) -> int:
    """Prints or writes the schema; returns the exit status."""
    from keras_blueprints.commands.plot import write_atomic
    from keras_blueprints.views.jsonschema import blueprint_schema

    schema = blueprint_schema(args.draft)
    text = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        write_atomic(args.output, text.encode("utf-8"))
    except OSError as exc:
        reason = exc.strerror or exc
        print(f"blueprint schema: error: cannot write '{args.output}': {reason}.", file=sys.stderr)
        return EXIT_BLUEPRINT
    definitions = schema.get("$defs", schema.get("definitions", {}))
    layers = sum(1 for key in definitions if key.startswith("layer."))
    print(
        f"{args.output}: JSON Schema of blueprints"
        f" ({layers} layers, {len(text):,} bytes, draft {args.draft})"
    )
    return EXIT_OK
