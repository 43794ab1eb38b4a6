"""Composing a blueprint document: ``extends``, ``imports``, ``set:`` and overrides.

``load_document`` reads a file (or ``zoo:NAME``, or YAML text), merges it over
the blueprints it ``extends`` (deep merge of mappings; lists and scalars
replace; a section tagged ``!replace`` replaces the inherited one whole),
applies the file's own ``set:`` section, then the caller's overrides
(``--set graph.stem.filters=48``). Every value keeps the location of whatever
set it last, and :class:`Provenance` remembers the earlier ones, so
``blueprint resolve --why KEY`` can say which file or override set a value.

Override keys are dotted paths. In a list of graph nodes a segment selects the
node with that ``name`` (searching nested groups) or an index (``graph[2]``);
in a node, a segment that is not a control key (``name``, ``from``, ...) is an
argument of the node's layer or block: ``graph.stem.filters``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keras_blueprints._core.errors import BlueprintError, Location, Plain, format_path
from keras_blueprints.loading.source import (
    Document,
    Path_,
    SourceMap,
    kind_of,
    parse,
    parse_value,
    read_source,
)

__all__ = [
    "CONTROL_KEYS",
    "ComposedDocument",
    "Provenance",
    "apply_overrides",
    "load_document",
    "node_type_key",
    "parse_override",
    "split_key",
]

CONTROL_KEYS = ("name", "from", "repeat", "as", "when", "share", "graph", "doc")
"""Keys of a graph node that are not its layer or block type."""

MAX_EXTENDS_DEPTH = 20


@dataclass
class Provenance:
    """Who set each value: the latest location first, earlier ones after.

    Attributes:
        history: Key path -> locations that set it, latest first.
    """

    history: dict[Path_, list[Location]] = field(default_factory=dict)

    def record(self, path: Path_, loc: Location) -> None:
        """Notes that ``loc`` set the value at ``path`` (over any earlier one)."""
        self.history.setdefault(path, []).insert(0, loc)

    def why(self, path: Path_) -> list[Location]:
        """Returns the locations that set ``path`` or, failing that, its nearest parent."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.history:
                return self.history[path[:end]]
        return []


@dataclass
class ComposedDocument(Document):
    """A document after extends, imports, ``set:`` and overrides.

    Attributes:
        provenance: Who set each value.
        imported_blocks: Blocks from ``imports:``: name -> (definition data, its document).
        files: Every file this document was composed from (for caching and messages).
    """

    provenance: Provenance = field(default_factory=Provenance)
    imported_blocks: dict[str, tuple[Any, Document]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def node_type_key(node: dict[str, Any]) -> str | None:
    """Returns the key of a node mapping that names its layer or block, if exactly one."""
    keys = [k for k in node if k not in CONTROL_KEYS]
    return keys[0] if len(keys) == 1 else None


def resolve_reference(ref: str, relative_to: Path | None, loc: Location) -> Path:
    """Turns ``zoo:NAME`` or a relative path into a file path.

    Args:
        ref: The reference as written.
        relative_to: The directory of the referring file (None for text).
        loc: Where the reference stands, for errors.

    Returns:
        The path to read.

    Raises:
        BlueprintError: Unknown zoo name or missing file.
    """
    if ref.startswith("zoo:"):
        from keras_blueprints.loading import zoo

        return zoo.path(ref, location=loc)
    p = Path(ref).expanduser()
    if not p.is_absolute() and relative_to is not None:
        p = relative_to / p
    if not p.exists():
        raise BlueprintError(
            "file not found",
            loc,
            received=ref,
            hint="Paths are relative to the blueprint's folder.",
        )
    return p


def load_document(
    source: str | Path | Document,
    overrides: Iterable[str | tuple[str, Any]] = (),
) -> ComposedDocument:
    """Reads and composes a blueprint document.

    Args:
        source: A path, ``zoo:NAME``, YAML text (anything containing a newline or
            a ``:``), or an already parsed document.
        overrides: ``"key.path=value"`` strings (value parsed as YAML) or
            ``(key_path, value)`` pairs, applied last.

    Returns:
        The composed document.

    Raises:
        BlueprintError: Any problem, located.
    """
    doc = _compose(as_document(source), stack=(), cache={})
    apply_overrides(doc, overrides)
    return doc


def apply_overrides(doc: ComposedDocument, overrides: Iterable[str | tuple[str, Any]]) -> None:
    """Applies ``"key=value"`` strings or ``(key, value)`` pairs to ``doc`` in place.

    Args:
        doc: A composed document.
        overrides: The overrides, applied in order.

    Raises:
        BlueprintError: A key that leads nowhere or a malformed override.
    """
    if isinstance(overrides, str):  # one override, not its characters
        overrides = [overrides]
    for override in overrides:
        if isinstance(override, tuple):
            key, value = override
            origin = Location(f"override {key}={value!r}")
        else:
            key, value = parse_override(override)
            origin = Location(f"--set {override}")
        apply_set(doc, key, value, origin, origin)


def as_document(source: str | Path | Document) -> Document:
    """Parses a path, ``zoo:NAME`` or YAML text into a :class:`Document`."""
    if isinstance(source, Document):
        return source
    if isinstance(source, str) and (source.startswith("zoo:") and "\n" not in source):
        from keras_blueprints.loading import zoo

        source = zoo.path(source)
    if isinstance(source, str) and _looks_like_text(source):
        return parse(source, "<string>")
    text, display = read_source(source)
    return parse(text, display, Path(source).resolve())


def _looks_like_text(source: str) -> bool:
    """YAML text rather than a path: several lines, or a mapping that is not a file name."""
    if "\n" in source:
        return True
    if _exists(source):
        return False
    if source.rstrip().endswith((".yaml", ".yml")) and ": " not in source:
        return False  # a missing file, not 'extends: base.yaml'
    return ":" in source


def _exists(source: str) -> bool:
    try:
        return Path(source).exists()
    except (OSError, ValueError):  # too long to be a path, or not one at all
        return False


Cache = dict[tuple[Path, int], "ComposedDocument"]
"""Files composed during one load, by resolved path and extends depth (diamonds read once)."""


def _compose_file(
    target: Path, stack: tuple[Path, ...], cache: Cache, where: Location | None = None
) -> ComposedDocument:
    """Reads and composes ``target`` once per load (and depth): callers only read the result.

    A file extended or imported along several paths (``extends: [a, a, a]``, diamonds
    of imports) is read and composed once, not once per path, so the work stays
    proportional to the number of files rather than to the number of paths.
    """
    key = (target, len(stack))
    found = cache.get(key)
    if found is None:
        text, display = read_source(target, where)
        found = cache[key] = _compose(parse(text, display, target), stack, cache)
    return found


def _compose(doc: Document, stack: tuple[Path, ...], cache: Cache) -> ComposedDocument:
    data = doc.data
    here = doc.path.parent if doc.path else None
    result = ComposedDocument({}, SourceMap(), doc.file, doc.path, files=[doc.file])
    bases = data.get("extends")
    if bases is not None:
        refs = bases if isinstance(bases, list) else [bases]
        for i, ref in enumerate(refs):
            path = ("extends", i) if isinstance(bases, list) else ("extends",)
            loc = doc.loc(*path)
            if not isinstance(ref, str):
                raise BlueprintError(
                    "'extends' takes a file path or zoo:NAME (or a list of them)",
                    loc,
                    received=ref,
                )
            target = resolve_reference(ref, here, loc).resolve()
            if target in stack or target == doc.path:
                chain = " -> ".join(
                    p.name for p in (*stack, *([doc.path] if doc.path else []), target)
                )
                raise BlueprintError("circular 'extends'", loc, received=Plain(chain))
            if len(stack) >= MAX_EXTENDS_DEPTH:
                raise BlueprintError("'extends' chain too deep", loc)
            base = _compose_file(target, (*stack, *([doc.path] if doc.path else [])), cache, loc)
            earlier = {k: list(v) for k, v in result.provenance.history.items()}
            _merge_into(result, base, base.data, (), replace=False)
            for k, v in base.provenance.history.items():  # this base, then the bases before it
                # each location once: a base extended twice must not double its history
                result.provenance.history[k] = list(dict.fromkeys([*v, *earlier.get(k, [])]))
            result.imported_blocks.update(base.imported_blocks)
            result.files += [f for f in base.files if f not in result.files]
    own = {k: v for k, v in data.items() if k not in ("extends", "set")}
    _merge_into(result, doc, own, (), replace=False)
    _imports(result, doc, here, stack, cache)
    sets = data.get("set")
    if sets is not None:
        if not isinstance(sets, dict):
            raise BlueprintError(
                "'set' takes a mapping of dotted keys to values",
                doc.loc("set"),
                received=Plain(f"a {kind_of(sets)}"),
            )
        for key, value in sets.items():
            key_loc = doc.sources.key(("set", key))
            path = apply_set(result, key, value, key_loc, doc.loc("set", key))
            result.sources.graft(doc.sources, ("set", key), path)  # locations inside the value
    return result


def _imports(
    result: ComposedDocument, doc: Document, here: Path | None, stack, cache: Cache
) -> None:
    imports = doc.data.get("imports")
    if imports is None:
        return
    if not isinstance(imports, list):
        imports = [imports]
    for i, ref in enumerate(imports):
        loc = doc.loc("imports", i) if isinstance(doc.data["imports"], list) else doc.loc("imports")
        if not isinstance(ref, str):
            raise BlueprintError("'imports' takes file paths or zoo:NAME", loc, received=ref)
        target = resolve_reference(ref, here, loc).resolve()
        if target in stack or target == doc.path:
            raise BlueprintError("circular 'imports'", loc, received=ref)
        other = _compose_file(target, (*stack, *([doc.path] if doc.path else [])), cache, loc)
        blocks = other.data.get("blocks") or {}
        if not isinstance(blocks, dict) or not blocks:
            raise BlueprintError(
                "an imported file must declare 'blocks:'",
                loc,
                received=ref,
                hint="'imports' brings blocks; use 'extends' to inherit a whole blueprint.",
            )
        for name, body in blocks.items():
            result.imported_blocks.setdefault(name, (body, other))
        result.imported_blocks.update(other.imported_blocks)
    result.data.pop("imports", None)


def _merge_into(
    result: ComposedDocument, src: Document, value: Any, path: Path_, replace: bool
) -> None:
    """Deep-merges ``value`` (from ``src`` at ``path``) into ``result.data``."""
    if not path:
        for key, v in value.items():
            _merge_into(result, src, v, (key,), replace=False)
        return
    parent = _get(result.data, path[:-1])
    key = path[-1]
    existing = parent.get(key) if isinstance(parent, dict) else None
    replace = replace or path in src.sources.replace
    if isinstance(value, dict) and isinstance(existing, dict) and not replace:
        result.sources.values[path] = src.sources.value(path)
        if path in src.sources.keys:
            result.sources.keys[path] = src.sources.keys[path]
        for k, v in value.items():
            _merge_into(result, src, v, (*path, k), replace=False)
        return
    result.sources.drop(path)
    parent[key] = copy.deepcopy(value)
    result.sources.graft(src.sources, path, path)
    result.sources.replace.discard(path)
    for sub, loc in list(src.sources.subtree(path)):  # every value below was set here too
        result.provenance.record(sub, loc)


def _get(data: Any, path: Path_) -> Any:
    for part in path:
        data = data[part]
    return data


_SEGMENT = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")


def split_key(key: str, loc: Location) -> list[str | int]:
    """Splits ``graph.stem.filters`` or ``graph[2].units`` into segments.

    Args:
        key: The dotted key.
        loc: Where it was given, for errors.

    Returns:
        Segments: names and integer indices.

    Raises:
        BlueprintError: An empty or malformed key.
    """
    parts: list[str | int] = []
    pos = 0
    while pos < len(key):
        if key[pos] == "." and parts:
            pos += 1
        m = _SEGMENT.match(key, pos)
        if not m:
            raise BlueprintError(
                "malformed key", loc, received=key, expected="a dotted path such as params.width"
            )
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if not parts:
        raise BlueprintError("empty key", loc, expected="a dotted path such as params.width")
    return parts


def parse_override(text: str) -> tuple[str, Any]:
    """Parses ``key.path=value`` (the value is YAML: ``32``, ``[1, 2]``, ``relu``).

    Args:
        text: The override as given on the command line.

    Returns:
        ``(key, value)``.

    Raises:
        BlueprintError: No ``=`` or an invalid value.
    """
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise BlueprintError(
            "an override must look like KEY=VALUE",
            Location(f"--set {text}"),
            received=text,
            hint="For example: --set params.width=32",
        )
    return key.strip(), parse_value(raw, f"--set {text}")


def _node_names(nodes: Sequence[Any]) -> Iterable[tuple[int, dict[str, Any]]]:
    for i, node in enumerate(nodes):
        if isinstance(node, dict):
            yield i, node


def _find_node(nodes: list[Any], name: str, prefix: Path_) -> Path_ | None:
    for i, node in _node_names(nodes):
        if node.get("name") == name:
            return (*prefix, i)
        inner = node.get("graph")
        if isinstance(inner, list):
            found = _find_node(inner, name, (*prefix, i, "graph"))
            if found is not None:
                return found
    return None


def _all_node_names(nodes: list[Any]) -> list[str]:
    names = []
    for _, node in _node_names(nodes):
        if isinstance(node.get("name"), str):
            names.append(node["name"])
        if isinstance(node.get("graph"), list):
            names += _all_node_names(node["graph"])
    return names


def _locate(doc: Document, parts: list[str | int], loc: Location, create: bool) -> Path_:
    """Maps key segments to a concrete data path, creating mappings when asked."""
    data: Any = doc.data
    path: Path_ = ()
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(data, list) and _is_short_input(path, part):
            data = _long_input(doc, path)  # inputs.x.shape reaches  x: [8]  too
        if isinstance(data, list):
            if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
                idx = int(part)
                if not -len(data) <= idx < len(data):
                    raise BlueprintError(
                        f"index {idx} is out of range",
                        loc,
                        path=path,
                        expected=f"an index below {len(data)}",
                    )
                path = (*path, idx % len(data))
            else:
                found = _find_node(data, part, ())
                if found is None:
                    raise BlueprintError.unknown_name(
                        f"a node name in '{format_path(path)}'",
                        part,
                        _all_node_names(data),
                        loc,
                        path=path,
                    )
                path = (*path, *found)
            data = _get(doc.data, path)
            if isinstance(data, str) and not last:  # "- Flatten": expand to a mapping
                _get(doc.data, path[:-1])[path[-1]] = {data: {}}
                data = _get(doc.data, path)
            continue
        if not isinstance(data, dict):
            raise BlueprintError(
                f"cannot set '{part}' inside a {kind_of(data)}",
                loc,
                path=path,
                received=data,
            )
        key = str(part)
        type_key = node_type_key(data) if _is_node(path) else None
        if type_key is not None and key not in CONTROL_KEYS and key != type_key:
            args = data.get(type_key)
            if args is None:
                data[type_key] = args = {}
            if not isinstance(args, dict):
                raise BlueprintError(
                    f"the arguments of '{type_key}' are not a mapping", loc, path=path
                )
            path = (*path, type_key)
            data = args
        if key not in data and path == ("params",):
            # A new parameter would be used by nothing: almost always a misspelling.
            raise BlueprintError.unknown_name(
                "a parameter of this blueprint",
                key,
                list(data),
                loc,
                extra_hint="Overrides change parameters the blueprint declares under 'params'.",
            )
        if key not in data:
            if not create:
                raise BlueprintError.unknown_name(
                    f"a key in '{format_path(path) or 'the blueprint'}'", key, list(data), loc
                )
            if not last:
                data[key] = {}
        path = (*path, key)
        if not last:
            data = data[key]
    return path


def _is_short_input(path: Path_, part: str | int) -> bool:
    """Whether ``part`` names a field of an input written in short form (``x: [8]``)."""
    return (
        len(path) == 2
        and path[0] == "inputs"
        and isinstance(part, str)
        and not part.lstrip("-").isdigit()
    )


def _long_input(doc: Document, path: Path_) -> dict[str, Any]:
    """Rewrites the short-form input at ``path`` (``x: [8]``) as ``x: {shape: [8]}``.

    The two forms mean the same (see ``docs/blueprint-language.md``), so a key path
    can name ``inputs.x.shape`` whichever was written. The shape keeps its locations.

    Args:
        doc: The document, changed in place.
        path: ``("inputs", NAME)``, whose value is a list.

    Returns:
        The input's new mapping.
    """
    shape = _get(doc.data, path)
    moved = SourceMap()
    moved.graft(doc.sources, path, ())
    key_loc, value_loc = doc.sources.keys.get(path), doc.sources.values.get(path)
    doc.sources.drop(path)
    doc.sources.graft(moved, (), (*path, "shape"))
    doc.sources.keys.pop((*path, "shape"), None)  # written nowhere: its value's place
    if key_loc is not None:
        doc.sources.keys[path] = key_loc
    if value_loc is not None:
        doc.sources.values[path] = value_loc
    provenance = getattr(doc, "provenance", None)
    if provenance is not None:  # who set the shape: whoever wrote the list, and below
        n, history = len(path), provenance.history
        for old in [p for p in history if p[:n] == path]:
            locs = history.pop(old) if len(old) > n else list(history[old])
            history[(*path, "shape", *old[n:])] = locs
    long_form = {"shape": shape}
    _get(doc.data, path[:-1])[path[-1]] = long_form
    return long_form


def _is_node(path: Path_) -> bool:
    return len(path) >= 2 and isinstance(path[-1], int) and path[-2] == "graph"


def apply_set(
    doc: ComposedDocument, key: str, value: Any, key_loc: Location, value_loc: Location
) -> Path_:
    """Sets ``key`` (dotted) to ``value`` in ``doc``, recording who set it.

    Args:
        doc: The document to change in place.
        key: Dotted key (``params.width``, ``graph.stem.filters``).
        value: The new value (plain data).
        key_loc: Where the key was given (for errors).
        value_loc: Where the value was given (becomes the value's location).

    Returns:
        The data path that was set.

    Raises:
        BlueprintError: The key does not lead anywhere.
    """
    parts = split_key(key, key_loc)
    path = _locate(doc, parts, key_loc, create=True)
    parent = _get(doc.data, path[:-1])
    parent[path[-1]] = copy.deepcopy(value)
    doc.sources.drop(path)
    doc.sources.values[path] = value_loc
    doc.sources.keys[path] = key_loc
    doc.provenance.record(path, value_loc)
    return path
