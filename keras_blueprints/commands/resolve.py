"""``blueprint resolve FILE``: print the fully resolved blueprint, or who set a value."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from keras_blueprints._core.errors import BlueprintError, Location, closest, format_path
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
    for line in explain(bp, args.why):
        print(line)
    return EXIT_OK


def explain(bp: Any, key: str) -> list[str]:
    """What ``--why KEY`` prints: the value, the file or override that set it, and earlier ones.

    Args:
        bp: The loaded blueprint.
        key: A dotted key (``params.width``, ``graph.stem.filters``, ``graph.hidden1``).

    Returns:
        The lines (``KEY = VALUE``, then ``  set by WHERE`` and ``  overriding WHERE``).

    Raises:
        BlueprintError: The key leads nowhere (with the closest key).
    """
    from keras_blueprints.loading.document import _get, _locate, split_key

    doc = bp.document
    where = Location(f"--why {key}")
    parts = split_key(key, where)
    try:
        path = _locate(doc, parts, where, create=False)
    except BlueprintError as err:
        lines = _why_resolved(bp, parts, where)
        if lines is None:  # not a name a repeat generated, say
            raise _suggesting_key(err, key, why_keys(bp)) from None
        return lines
    value = _get(doc.data, path)
    history = doc.provenance.why(path) or [doc.sources.value(path)]
    if not history:
        raise BlueprintError("no source recorded", where)
    lines = [f"{format_path(path)} = {value!r}", f"  set by {history[0]}"]
    return lines + [f"  overriding {loc}" for loc in history[1:]]


def _why_resolved(bp: Any, parts: list[str | int], where: Location) -> list[str] | None:
    """Answers ``--why graph.NODE[.ARG]`` from the resolved graph, for a generated name.

    A node a ``repeat`` created (``hidden1``) has no entry of its own in the document:
    its arguments come from the repeated entry, where they were written.

    Args:
        bp: The loaded blueprint.
        parts: The key's segments.
        where: Where the key was given, for errors.

    Returns:
        The lines that answer it, or None when the key names no node of the resolved graph.

    Raises:
        BlueprintError: The node has no such argument.
    """
    if len(parts) not in (2, 3) or parts[0] != "graph":
        return None
    node = next((n for n in bp.nodes if n.name == str(parts[1])), None)
    if node is None:
        return None
    if len(parts) == 2:
        return [f"graph.{node.name} = {node.type}", f"  set by {node.location}"]
    arg = str(parts[2])
    if arg not in node.args:
        raise BlueprintError.unknown_name(
            f"an argument given to node '{node.name}'", arg, list(node.args), where
        )
    return [
        f"graph.{node.name}.{arg} = {node.args[arg]!r}",
        f"  set by {node.arg_locations.get(arg, node.location)}",
    ]


_DID_YOU_MEAN = re.compile(r"^Did you mean '[^']*'\?\s*")


def why_keys(bp: Any) -> list[str]:
    """The keys ``--why`` answers, as the user wrote them first, then generated node names.

    Written: each section, ``params.NAME`` and the other keys of each section, and
    ``graph.NAME`` for every node name written in the graph (in groups too, as written,
    ``graph.hidden${i + 1}``); generated: ``graph.NAME`` (and ``graph.NAME.ARG``) for
    every node of the resolved graph (``graph.hidden1``).

    Args:
        bp: The loaded blueprint.

    Returns:
        The keys, without repeats.
    """
    from keras_blueprints.loading.document import _all_node_names

    data = bp.document.data
    keys: list[str] = []
    for section, value in data.items():
        keys.append(str(section))
        if isinstance(value, dict):
            keys += [f"{section}.{key}" for key in value]
    graph = data.get("graph")
    if isinstance(graph, list):
        keys += [f"graph.{name}" for name in _all_node_names(graph)]
    for node in bp.nodes:
        keys.append(f"graph.{node.name}")
        keys += [f"graph.{node.name}.{arg}" for arg in node.args]
    return list(dict.fromkeys(keys))


def _suggesting_key(err: BlueprintError, key: str, keys: list[str]) -> BlueprintError:
    """``err`` whose did-you-mean names the closest whole key (``params.width``), if any.

    The error says which segment of the key is wrong; the closest whole key is drawn
    from the keys the user wrote as well as the names the resolution generated.
    """
    best = closest(key, keys)
    if not best:  # a bare name (widht): the closest last segment (params.width)
        by_name: dict[str, str] = {}
        for whole in keys:
            by_name.setdefault(whole.rsplit(".", 1)[-1], whole)
        best = [by_name[name] for name in closest(key.rsplit(".", 1)[-1], by_name)]
    if not best:
        return err
    rest = _DID_YOU_MEAN.sub("", err.hint or "")
    hint = f"Did you mean '{best[0]}'?" + (f" {rest}" if rest else "")
    return BlueprintError(
        err.message,
        err.location,
        path=err.path,
        expected=err.expected,
        received=err.received,
        hint=hint,
        context=err.context,
    )
