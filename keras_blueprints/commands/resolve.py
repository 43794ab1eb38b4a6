"""``blueprint resolve FILE``: print the fully resolved blueprint, or who set a value."""

from __future__ import annotations

import argparse
import sys

from keras_blueprints._core.errors import BlueprintError, Location, format_path
from keras_blueprints.cli import EXIT_OK, add_overrides, command


@command("resolve", "print the fully resolved blueprint (--why KEY: who set a value)")
def configure(parser: argparse.ArgumentParser) -> None:
    """Adds the command's arguments."""
    parser.add_argument("file", metavar="FILE", help="blueprint file or zoo:NAME")
    parser.add_argument("--why", metavar="KEY", help="say which file or override set KEY")
    add_overrides(parser)


def run(args: argparse.Namespace) -> int:
    """Prints the resolved YAML, or the provenance of ``--why KEY``."""
    from keras_blueprints.api import load
    from keras_blueprints.views.plain import dump

    bp = load(args.file, args.overrides, allow_read=args.allow_read)
    if args.why is None:
        sys.stdout.write(dump(bp))
        return EXIT_OK
    from keras_blueprints.loading.document import _get, _locate, split_key

    doc = bp.document
    where = Location(f"--why {args.why}")
    path = _locate(doc, split_key(args.why, where), where, create=False)
    value = _get(doc.data, path)
    history = doc.provenance.why(path) or [doc.sources.value(path)]
    print(f"{format_path(path)} = {value!r}")
    print(f"  set by {history[0]}")
    for loc in history[1:]:
        print(f"  overriding {loc}")
    if not history:
        raise BlueprintError("no source recorded", where)
    return EXIT_OK
