"""Reading YAML safely into plain data plus a map of where every value stands.

The result of :func:`parse` is a :class:`Document`: plain Python data (dicts,
lists, str, int, float, bool, None) and a :class:`SourceMap` that gives the
``FILE:LINE:COL`` of every value and every mapping key by its key path. Later
stages (merge, overrides, resolution) carry the source map along, so an error
found anywhere can point at the YAML that caused it.

Safety: the YAML is composed by PyYAML's *safe* composer (libyaml when
available) and converted by our own walker, which refuses every tag it does not
know (``!!python/...`` included), duplicate keys (PyYAML keeps the last one
silently), alias bombs and recursive aliases, non-string keys, files that are
too large or not UTF-8, and empty documents. Nothing is ever constructed from a
tag, so loading never executes code.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from keras_blueprints._core.errors import BlueprintError, Location, Plain
from keras_blueprints._core.paths import read_bounded

__all__ = ["MAX_BYTES", "MAX_NODES", "Document", "Path_", "SourceMap", "parse", "read_source"]

Path_ = tuple[str | int, ...]

MAX_BYTES = 2 * 1024 * 1024
"""Largest blueprint file accepted (2 MiB: the whole zoo is a few KiB each)."""

MAX_NODES = 200_000
"""Most YAML values one document may expand to (stops alias bombs early)."""

MAX_DEPTH = 200
"""Deepest nesting of mappings and lists accepted."""

MAX_INT_CHARS = 1000
"""Longest integer literal accepted (YAML 1.1 base-60 integers such as
``1:2:3:...`` grow quadratically in time and beyond what Python prints)."""

REPLACE_TAG = "!replace"
"""Tag marking a section that replaces the inherited one instead of merging."""

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_NULL = "tag:yaml.org,2002:null"
_SCALAR_TAGS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    _NULL,
    "tag:yaml.org,2002:timestamp",
}

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Prefixes:
    """Every path of a table and its ancestors, parent -> children: walks a subtree only.

    Without it, grafting, dropping or listing what lies below one path scans the
    whole table, and composing a document of N values costs N**2 (a ``<<`` merge or a
    ``set:`` of tens of thousands of keys took minutes).
    """

    def __init__(self, paths: Iterator[Path_] | tuple = ()) -> None:
        self.children: dict[Path_, set[Path_]] = {}
        for path in paths:
            self.add(path)

    def add(self, path: Path_) -> None:
        while path:
            parent = path[:-1]
            kids = self.children.get(parent)
            if kids is None:
                kids = self.children[parent] = set()
            elif path in kids:
                return  # its ancestors are linked already
            kids.add(path)
            path = parent

    def discard(self, path: Path_, present: Any) -> None:
        """Unlinks ``path`` (no longer in ``present``) and ancestors left with nothing."""
        while path and path not in present and not self.children.get(path):
            self.children.pop(path, None)
            parent = path[:-1]
            kids = self.children.get(parent)
            if kids is not None:
                kids.discard(path)
            path = parent

    def below(self, prefix: Path_, present: Any) -> list[Path_]:
        """The paths of ``present`` at or below ``prefix``."""
        out, stack = [], [prefix]
        while stack:
            path = stack.pop()
            if path in present:
                out.append(path)
            stack.extend(self.children.get(path, ()))
        return out


class _Table(dict):
    """A dict keyed by path that knows which of its paths lie below a prefix."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.index = _Prefixes(iter(self))

    def _index(self) -> _Prefixes:
        index = self.__dict__.get("index")
        if index is None:  # being unpickled: items arrive before the attributes
            index = self.index = _Prefixes(iter(self))
        return index

    def __setitem__(self, path: Path_, value: Any) -> None:
        if path not in self:
            self._index().add(path)
        super().__setitem__(path, value)

    def __delitem__(self, path: Path_) -> None:
        super().__delitem__(path)
        self._index().discard(path, self)

    def pop(self, path: Path_, *default: Any) -> Any:
        value = super().pop(path, *default)
        self._index().discard(path, self)
        return value

    def setdefault(self, path: Path_, default: Any = None) -> Any:
        if path not in self:
            self[path] = default
        return self[path]

    def update(self, *args: Any, **kwargs: Any) -> None:
        for path, value in dict(*args, **kwargs).items():
            self[path] = value

    def clear(self) -> None:
        super().clear()
        self.index = _Prefixes()

    def below(self, prefix: Path_) -> list[Path_]:
        """The paths at or below ``prefix``."""
        return self._index().below(prefix, self)


class _PathSet(set):
    """A set of paths that knows which of them lie below a prefix."""

    def __init__(self, paths: Any = ()) -> None:
        super().__init__(paths)
        self.index = _Prefixes(iter(self))

    def _index(self) -> _Prefixes:
        index = self.__dict__.get("index")
        if index is None:
            index = self.index = _Prefixes(iter(self))
        return index

    def add(self, path: Path_) -> None:
        if path not in self:
            self._index().add(path)
        super().add(path)

    def discard(self, path: Path_) -> None:
        super().discard(path)
        self._index().discard(path, self)

    def remove(self, path: Path_) -> None:
        super().remove(path)
        self._index().discard(path, self)

    def below(self, prefix: Path_) -> list[Path_]:
        """The paths at or below ``prefix``."""
        return self._index().below(prefix, self)


@dataclass
class SourceMap:
    """Locations of values and keys, by key path.

    The tables are indexed by prefix, so the work of grafting, dropping or listing a
    subtree is proportional to that subtree, not to the whole document.

    Attributes:
        values: Path -> location of the value at that path.
        keys: Path -> location of the mapping key that introduces that path.
        replace: Paths marked ``!replace`` (replace, do not merge, when extending).
    """

    values: dict[Path_, Location] = field(default_factory=_Table)
    keys: dict[Path_, Location] = field(default_factory=_Table)
    replace: set[Path_] = field(default_factory=_PathSet)
    quoted: set[Path_] = field(default_factory=_PathSet)

    def __post_init__(self) -> None:
        for name, kind in (("values", _Table), ("keys", _Table), ("replace", _PathSet),
                           ("quoted", _PathSet)):  # fmt: skip
            if not isinstance(getattr(self, name), kind):
                setattr(self, name, kind(getattr(self, name)))

    def value(self, path: Path_, default: Location | None = None) -> Location:
        """Returns the location of the value at ``path``, or of its nearest parent."""
        return self._lookup(self.values, path, default)

    def key(self, path: Path_, default: Location | None = None) -> Location:
        """Returns the location of the key at ``path`` (its value's if it has no key)."""
        if path in self.keys:
            return self.keys[path]
        return self._lookup(self.values, path, default)

    def _lookup(self, table: dict[Path_, Location], path: Path_, default: Location | None):
        for end in range(len(path), -1, -1):
            loc = table.get(path[:end])
            if loc is not None:
                return loc
        return default or Location("<unknown>")

    def subtree(self, prefix: Path_) -> Iterator[tuple[Path_, Location]]:
        """Yields ``(path, location)`` for values at or below ``prefix``."""
        for path in self.values.below(prefix):
            yield path, self.values[path]

    def graft(self, other: SourceMap, src: Path_, dst: Path_) -> None:
        """Copies ``other``'s locations below ``src`` to below ``dst`` in this map."""
        n = len(src)
        for table, mine in ((other.values, self.values), (other.keys, self.keys)):
            for path in table.below(src):
                mine[dst + path[n:]] = table[path]
        for marks, mine_marks in ((other.replace, self.replace), (other.quoted, self.quoted)):
            for path in marks.below(src):
                mine_marks.add(dst + path[n:])

    def graft_top(self, other: SourceMap, keys: set[str], dst: Path_) -> None:
        """Copies ``other``'s locations below each of ``keys`` to below ``dst + (key,)``.

        One pass over ``other`` (a merge of 60k keys grafts them all at once).
        """
        for table, mine in ((other.values, self.values), (other.keys, self.keys)):
            for path, loc in table.items():
                if path and path[0] in keys:
                    mine[dst + path] = loc
        for marks, mine_marks in ((other.replace, self.replace), (other.quoted, self.quoted)):
            for path in marks:
                if path and path[0] in keys:
                    mine_marks.add(dst + path)

    def drop(self, prefix: Path_) -> None:
        """Forgets every location at or below ``prefix``."""
        for table in (self.values, self.keys, self.replace, self.quoted):
            for path in table.below(prefix):
                if isinstance(table, dict):
                    del table[path]
                else:
                    table.discard(path)

    def text_location(self, path: Path_, default: Location | None = None) -> Location:
        """Returns where the text of the scalar at ``path`` starts (after any quote)."""
        loc = self.value(path, default)
        return loc.shifted(1) if path in self.quoted else loc


@dataclass
class Document:
    """Plain YAML data with the locations of its values.

    Attributes:
        data: The top-level mapping, as plain Python data.
        sources: Where every value and key came from.
        file: The file name (or ``<string>``) the document was read from.
        path: The resolved file path when it came from a file, else None.
    """

    data: dict[str, Any]
    sources: SourceMap
    file: str
    path: Path | None = None

    def loc(self, *path: str | int) -> Location:
        """Returns the location of the value at ``path``."""
        return self.sources.value(tuple(path), Location(self.file))


def read_source(path: str | os.PathLike[str], where: Location | None = None) -> tuple[str, str]:
    """Reads a blueprint file, refusing huge, special (FIFO, device) and non-UTF-8 files.

    The size limit is applied before and while reading (a device reports a size
    of 0): at most ``MAX_BYTES + 1`` bytes are ever read, and a FIFO is opened
    without blocking and refused.

    Args:
        path: The file to read.
        where: Where the file was named (an ``extends:`` value), for errors; default
            the file itself.

    Returns:
        ``(text, display_name)``.

    Raises:
        BlueprintError: The file is missing, too large, special, unreadable or not UTF-8.
    """
    display = os.fspath(path)
    where = where or Location(display)
    if isinstance(path, str) and "\0" in path:
        raise BlueprintError("not a valid file path", where, received=display)
    try:
        raw = read_bounded(Path(path), where, MAX_BYTES, what="the blueprint file")
    except BlueprintError as err:
        renamed = {
            "the blueprint file does not exist": "file not found",
            "the blueprint file is a folder": "is a directory, not a blueprint file",
            "the blueprint file is too large": "file too large for a blueprint",
        }.get(err.message)
        if renamed is None:
            raise
        missing = renamed == "file not found"
        raise BlueprintError(
            renamed,
            where,
            expected=None if missing else err.expected,
            received=None if missing else err.received,
            hint="Check the path, or use zoo:NAME for a zoo blueprint." if missing else None,
        ) from None
    return decode(raw, display), display


def decode(raw: bytes, file: str) -> str:
    """Decodes UTF-8 (with or without BOM), pointing at the first bad byte.

    Args:
        raw: The file's bytes.
        file: Its display name.

    Returns:
        The text.

    Raises:
        BlueprintError: The bytes are not UTF-8.
    """
    if len(raw) > MAX_BYTES:
        raise BlueprintError(
            "text too large for a blueprint",
            Location(file),
            expected=f"at most {MAX_BYTES} bytes",
            received=Plain(f"{len(raw)} bytes"),
        )
    body = raw.removeprefix(codecs.BOM_UTF8)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Offsets are into ``body`` (after any BOM); everything before exc.start
        # is valid UTF-8, so the column counts characters, as editors do.
        before = body[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1 :].decode("utf-8")) + 1
        raise BlueprintError(
            "the file is not valid UTF-8",
            Location(file, line, col),
            received=Plain(f"byte 0x{body[exc.start]:02x}"),
            hint="Save the blueprint as UTF-8.",
        ) from None


def parse(text: str, file: str = "<string>", path: Path | None = None) -> Document:
    """Parses blueprint YAML text into a :class:`Document`.

    Args:
        text: The YAML text.
        file: The name to show in error locations.
        path: The file's path, if it came from one (for relative references).

    Returns:
        The document, whose top level is a mapping.

    Raises:
        BlueprintError: Syntax errors, refused tags, duplicate keys, alias
            bombs, empty documents, a top level that is not a mapping.
    """
    if len(text) > MAX_BYTES:
        raise BlueprintError(
            "text too large for a blueprint",
            Location(file),
            expected=f"at most {MAX_BYTES} characters",
            received=Plain(f"{len(text)} characters"),
        )
    surrogate = _SURROGATE.search(text)
    if surrogate:
        # Only Python text can hold one (a file is decoded first); YAML would
        # fail on it with an encoding error instead of a located one.
        before = text[: surrogate.start()]
        line = before.count("\n") + 1
        raise BlueprintError(
            "the text holds a lone surrogate, which is not a Unicode character",
            Location(file, line, surrogate.start() - before.rfind("\n")),
            expected="Unicode text",
            received=Plain(f"U+{ord(surrogate.group()):04X}"),
        )
    try:
        node = _compose(text, file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = _mark_location(text, file, mark)
        problem = exc.problem or exc.context or "invalid YAML"
        context = exc.context if exc.problem and exc.context else None
        start = exc.context_mark
        if context and start and (start.line, start.column) != (mark.line, mark.column):
            context += f" at line {start.line + 1}, column {start.column + 1}"  # where it opened
        at_tab = bool(mark) and 0 <= mark.index < len(text) and text[mark.index] == "\t"
        hint = "Indent with spaces, not tabs." if at_tab else _yaml_hint(problem)
        expression = _unquoted_expression(text, mark)
        if expression is not None:  # YAML stops at the '{' of '${': point at the '$'
            loc, hint = Location(loc.file, loc.line, loc.col - 1), _quote_hint(expression)
        raise BlueprintError(
            f"YAML syntax error: {problem}",
            loc,
            context=context,
            hint=hint,
        ) from None
    except yaml.reader.ReaderError as exc:  # control characters
        raise BlueprintError(
            f"YAML error: {_one_line(str(exc.reason))} (character #x{exc.character:04x})",
            _offset_location(text, file, exc.position),
        ) from None
    except yaml.YAMLError as exc:
        raise BlueprintError(f"YAML error: {_one_line(str(exc))}", Location(file)) from None
    except RecursionError:
        raise BlueprintError(
            "the YAML is nested too deeply", Location(file), expected=f"at most {MAX_DEPTH} levels"
        ) from None
    if node is None or (  # nothing, or nothing but '---'
        isinstance(node, yaml.ScalarNode) and node.tag == _NULL and node.value == ""
    ):
        raise BlueprintError(
            "the blueprint is empty",
            Location(file, 1, 1),
            expected="a mapping with at least 'inputs' and 'graph'",
        )
    sources = SourceMap()
    walker = _Walker(file, sources)
    data = walker.convert(node, ())
    if not isinstance(data, dict):
        raise BlueprintError(
            "the top level of a blueprint must be a mapping",
            _loc(file, node),
            expected="keys such as 'inputs', 'graph', 'outputs'",
            received=Plain(f"a {kind_of(data)}"),
        )
    return Document(data, sources, file, path)


def parse_value(text: str, file: str = "<command line>") -> Any:
    """Parses one YAML value (for ``--set key=value``) with the same safety rules.

    Args:
        text: A YAML scalar or flow collection, e.g. ``32``, ``[1, 2]``, ``relu``.
        file: The name to show in error locations.

    Returns:
        The plain value ('' gives an empty string).

    Raises:
        BlueprintError: The value is not valid or not allowed.
    """
    if text.strip() == "":
        return ""
    doc_text = f"value: {text}" if "\n" not in text else text
    try:
        node = _compose(doc_text, file)
    except yaml.YAMLError as exc:  # a reader error's own text counts in the wrapped text
        problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or str(exc)
        raise BlueprintError(
            f"invalid value: {_one_line(problem)}",
            Location(file),
            received=text,
        ) from None
    except BlueprintError as err:  # nested too deeply
        raise _unplaced(err, file, text) from None
    if node is None or not isinstance(node, yaml.MappingNode) or len(node.value) != 1:
        raise BlueprintError("invalid value", Location(file), received=text)
    walker = _Walker(file, SourceMap())
    try:
        return walker.convert(node.value[0][1], ())
    except BlueprintError as err:
        raise _unplaced(err, file, text) from None


def _unplaced(err: BlueprintError, file: str, text: str) -> BlueprintError:
    # Lines and columns would count in the wrapped text ("value: ..."), not in what was given.
    return BlueprintError(
        err.message, Location(file), expected=err.expected, received=text, hint=err.hint
    )


def _compose(text: str, file: str) -> yaml.Node | None:
    _check_depth(text, file)
    loader = _Loader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _check_depth(text: str, file: str) -> None:
    """Refuses deep nesting before composing it.

    libyaml's composer recurses once per level and crashes the interpreter
    (segmentation fault) at a few ten thousand levels, and its scanner slows
    down quadratically with the depth of flow collections, so the depth is
    checked on the event stream, stopping at the first node too deep.
    """
    loader = _Loader(text)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, _CLOSE):
                depth -= 1
                continue
            if depth > MAX_DEPTH and not isinstance(event, yaml.AliasEvent):
                mark = event.start_mark
                raise BlueprintError(
                    "the YAML is nested too deeply",
                    Location(file, mark.line + 1, mark.column + 1),
                    expected=f"at most {MAX_DEPTH} levels",
                )
            if isinstance(event, _OPEN):
                depth += 1
    finally:
        loader.dispose()


_SURROGATE = re.compile("[\ud800-\udfff]")
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # YAML's line breaks


def _mark_location(text: str, file: str, mark: yaml.Mark | None) -> Location:
    """Returns a mark's location; at the end of a text, the end of its last line."""
    if mark is None:
        return Location(file)
    if mark.index >= len(text):  # libyaml may count a final line break the text lacks
        lines = _LINE_BREAK.split(text)
        return Location(file, len(lines), len(lines[-1]) + 1)
    return Location(file, mark.line + 1, mark.column + 1)


def _offset_location(text: str, file: str, position: int) -> Location:
    """Returns the location of a reader error's offset into ``text``."""
    if _Loader is not yaml.SafeLoader:  # libyaml counts bytes of the UTF-8 text
        position = len(text.encode("utf-8")[:position].decode("utf-8", errors="ignore"))
    before = text[:position]
    line = before.count("\n") + 1
    return Location(file, line, position - (before.rfind("\n") + 1) + 1)


def _loc(file: str, node: yaml.Node) -> Location:
    mark = node.start_mark
    return Location(file, mark.line + 1, mark.column + 1)


def kind_of(value: Any) -> str:
    """Names the kind of a plain value for messages: ``mapping``, ``number``, ``null``..."""
    kinds = {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "number"}
    kinds.update({float: "number", type(None): "null"})
    return kinds.get(type(value), type(value).__name__)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _unquoted_expression(text: str, mark: yaml.Mark | None) -> str | None:
    """The unquoted ``${...}`` a YAML syntax error stopped at, or None.

    In a flow mapping or list (``{...}``, ``[...]``) a plain ``${n}`` is not a
    value: YAML reads ``$`` and fails at the ``{`` after it.
    """
    if (
        mark is None
        or not 1 <= mark.index < len(text)
        or text[mark.index - 1 : mark.index + 1] != "${"
    ):
        return None
    end = text.find("}", mark.index)
    line_end = _LINE_BREAK.search(text, mark.index)
    if end < 0 or (line_end is not None and end > line_end.start()):
        return "${...}"
    return text[mark.index - 1 : end + 1]


def _quote_hint(expression: str) -> str:
    """How to write an expression inside ``{...}`` or ``[...]``."""
    return (
        f'Quote it: write "{expression}". Inside {{...}} or [...] (YAML\'s flow style)'
        " a ${...} expression must be quoted"
    )


def _yaml_hint(problem: str) -> str | None:
    if "tab" in problem:
        return "Indent with spaces, not tabs."
    if "mapping values are not allowed" in problem:
        return "Quote values that contain ': ' or check the indentation."
    return None


_SCALARS = yaml.SafeLoader("")  # a constructor used only for plain scalar nodes


class _Walker:
    """Converts a composed YAML node graph to plain data, recording locations."""

    def __init__(self, file: str, sources: SourceMap) -> None:
        self.file = file
        self.sources = sources
        self.count = 0
        self.active: set[int] = set()

    def convert(self, node: yaml.Node, path: Path_, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise BlueprintError(
                "the YAML expands to too many values (an alias bomb?)",
                _loc(self.file, node),
                expected=f"at most {MAX_NODES} values after expanding aliases",
            )
        if depth > MAX_DEPTH:
            raise BlueprintError(
                "the YAML is nested too deeply",
                _loc(self.file, node),
                expected=f"at most {MAX_DEPTH} levels",
            )
        self.sources.values[path] = _loc(self.file, node)
        tag = node.tag
        if tag == REPLACE_TAG:
            if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
                raise BlueprintError(
                    "'!replace' applies to a mapping or a list",
                    _loc(self.file, node),
                    received="a scalar",
                    hint="Scalars always replace the inherited value; drop the tag.",
                )
            self.sources.replace.add(path)
            tag = _MAP if isinstance(node, yaml.MappingNode) else _SEQ
        if id(node) in self.active:
            raise BlueprintError("recursive YAML alias", _loc(self.file, node))
        if isinstance(node, yaml.ScalarNode):
            if node.style in ("'", '"'):
                self.sources.quoted.add(path)
            return self._scalar(node, tag)
        if tag not in (_MAP, _SEQ):
            raise self._refused_tag(node)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [
                    self.convert(item, (*path, i), depth + 1) for i, item in enumerate(node.value)
                ]
            return self._mapping(node, path, depth)
        finally:
            self.active.discard(id(node))

    def _refused_tag(self, node: yaml.Node) -> BlueprintError:
        tag = node.tag
        prefix = "tag:yaml.org,2002:"
        shown = "!!" + tag[len(prefix) :] if tag.startswith(prefix) else tag
        return BlueprintError(
            f"the YAML tag '{shown}' is not allowed",
            _loc(self.file, node),
            expected="plain YAML values (mappings, lists, strings, numbers, booleans, null)"
            f" or '{REPLACE_TAG}'",
            hint="Blueprints never construct Python objects; register custom components"
            " from Python code instead.",
        )

    def _scalar(self, node: yaml.ScalarNode, tag: str) -> Any:
        if tag not in _SCALAR_TAGS:
            raise self._refused_tag(node)
        if tag == "tag:yaml.org,2002:timestamp":
            return node.value  # dates stay text: blueprints have no use for datetime objects
        if tag == _STR:
            return node.value
        if tag == "tag:yaml.org,2002:int" and len(node.value) > MAX_INT_CHARS:
            raise BlueprintError(
                "invalid scalar: number too long",
                _loc(self.file, node),
                expected=f"at most {MAX_INT_CHARS} characters",
                received=node.value,
            )
        try:
            # The constructor function itself, not construct_object(): that one
            # caches every node in the shared loader forever.
            return _SCALARS.yaml_constructors[tag](_SCALARS, node)
        except (ValueError, LookupError, yaml.YAMLError):  # e.g. !!bool maybe, !!int ""
            raise BlueprintError(
                "invalid scalar", _loc(self.file, node), received=node.value
            ) from None

    def _mapping(self, node: yaml.MappingNode, path: Path_, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append(value_node)
                continue
            key = self._key(key_node)
            if key in out:
                first = self.sources.keys[(*path, key)]
                raise BlueprintError(
                    f"duplicate key '{key}'",
                    _loc(self.file, key_node),
                    path=(*path, key),
                    hint=f"It was first given at line {first.line}; YAML would silently"
                    " keep only the last one.",
                )
            self.sources.keys[(*path, key)] = _loc(self.file, key_node)
            out[key] = self.convert(value_node, (*path, key), depth + 1)
        for merge in merges:  # YAML merge keys: explicit keys win, earlier merges win
            items = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
            for item in items:
                if not isinstance(item, yaml.MappingNode):
                    raise BlueprintError(
                        "a merge key '<<' takes a mapping or a list of mappings",
                        _loc(self.file, item),
                    )
                scratch = _Walker(self.file, SourceMap())
                scratch.count, scratch.active = self.count, self.active
                value = scratch.convert(item, (), depth + 1)
                self.count = scratch.count
                taken = {key for key in value if key not in out}
                for key, v in value.items():  # in the merged mapping's order
                    if key in taken:
                        out[key] = v
                self.sources.graft_top(scratch.sources, taken, path)
        return out

    def _key(self, key_node: yaml.Node) -> str:
        if not isinstance(key_node, yaml.ScalarNode):
            raise BlueprintError(
                "mapping keys must be plain names",
                _loc(self.file, key_node),
                received=Plain(
                    "a list" if isinstance(key_node, yaml.SequenceNode) else "a mapping"
                ),
            )
        key = self._scalar(key_node, key_node.tag)
        if not isinstance(key, str):
            hint = f"Quote the key: '{key_node.value}'."
            if isinstance(key, bool):
                hint += " YAML 1.1 reads yes/no/on/off as booleans."
            raise BlueprintError(
                "mapping keys must be strings", _loc(self.file, key_node), received=key, hint=hint
            )
        return key
