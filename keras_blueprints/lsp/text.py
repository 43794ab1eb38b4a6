"""What stands at a position of a blueprint's text: a key, a value, a ``${...}`` name.

The editor features ask one question of a document: "the cursor is at line L,
character C: what is there?". This module answers it with the project's own
safe YAML loader (:func:`keras_blueprints.loading.source.parse`), whose source
map gives the ``LINE:COL`` of every key and value, so the answer is a key path
(``('graph', 3, 'Conv2D', 'padding')``) and whether the cursor is on the key or
on its value. A text being typed is often not valid YAML: :func:`completion_spot`
parses it again with the word being typed replaced by a marker (and, failing that,
with the lines below the cursor left out), and reports where the marker landed.

Positions here are 0-based (line, character), as the Language Server Protocol
counts them; the loader's locations are 1-based. Characters are Python string
indices (the server negotiates UTF-32 positions when the client offers them).
Nothing here imports TensorFlow or Keras.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.loading.source import MAX_BYTES, Document, Path_, parse

__all__ = [
    "MARKER",
    "Spot",
    "completion_spot",
    "expression_name_at",
    "parse_quietly",
    "spot_at",
    "token_end",
    "word_at",
]

MARKER = "kbcursor0marker"
"""What :func:`completion_spot` writes in place of the word being typed."""

_WORD = re.compile(r"[A-Za-z0-9_.:\-/]*$")
_WORD_AHEAD = re.compile(r"[A-Za-z0-9_\-]*")
_NAME_CHAR = re.compile(r"[A-Za-z0-9_]")
_PLAIN_END = re.compile(r"[^,\[\]{}\n]*")


@dataclass(frozen=True)
class Spot:
    """What the cursor is on.

    Attributes:
        path: The key path of the key or value under the cursor.
        role: ``"key"`` (a mapping key) or ``"value"`` (a scalar value).
        word: The text of that key or value as written (for completion: what was typed
            so far, the prefix the items must start with).
        start: The 0-based character where ``word`` starts on its line.
        end: The 0-based character where it ends.
        expression_name: The name inside ``${...}`` under the cursor, or None.
        document: The document the path belongs to (for completion: the one parsed
            with the marker; its data holds ``MARKER`` where the cursor was).
    """

    path: Path_
    role: str
    word: str
    start: int
    end: int
    expression_name: str | None
    document: Document


def parse_quietly(text: str, file: str, path: Path | None = None) -> Document | None:
    """Parses ``text`` with the safe loader; None when it is not a valid blueprint's YAML.

    Args:
        text: The document's text.
        file: Its display name (its file system path, or its URI when unsaved).
        path: Its path, for relative references.

    Returns:
        The parsed document, or None (a syntax error, a refused tag, too large).
    """
    if len(text) > MAX_BYTES:
        return None
    try:
        return parse(text, file, path)
    except BlueprintError:
        return None
    except RecursionError:  # pragma: no cover - the loader refuses deep nesting first
        return None


def token_end(line: str, start: int) -> int:
    """The character where the YAML token starting at ``start`` on ``line`` ends.

    A quoted scalar ends after its closing quote; a plain one at the next flow
    indicator (``,``, ``]``, ``}``), comment or the end of the line.

    Args:
        line: The line's text.
        start: Where the token starts (0-based).

    Returns:
        The 0-based end (exclusive), at least ``start``.
    """
    if start >= len(line):
        return start
    quote = line[start]
    if quote in "'\"":
        close = line.find(quote, start + 1)
        return len(line) if close < 0 else close + 1
    m = _PLAIN_END.match(line, start)
    text = m.group() if m else ""
    comment = text.find(" #")
    if comment >= 0:
        text = text[:comment]
    colon = text.find(": ")
    if colon >= 0:  # a key: the value after it is another token
        text = text[:colon]
    elif text.rstrip().endswith(":"):
        text = text.rstrip()[:-1]
    return start + len(text.rstrip())


def word_at(line: str, character: int) -> tuple[str, int]:
    """The word (a name, ``zoo:NAME``, a path) that ends at ``character``.

    Args:
        line: The line's text.
        character: The cursor's 0-based character.

    Returns:
        ``(word, start)``: the word before the cursor and where it starts.
    """
    m = _WORD.search(line[:character])
    word = m.group() if m else ""
    return word, character - len(word)


def expression_name_at(line: str, character: int) -> tuple[str, int, int] | None:
    """The name under the cursor when it stands inside ``${...}`` on ``line``.

    Args:
        line: The line's text.
        character: The cursor's 0-based character.

    Returns:
        ``(name, start, end)`` (the name may be empty, for completion), or None when
        the cursor is not inside an expression.
    """
    opened = line.rfind("${", 0, character)
    if opened < 0 or "}" in line[opened:character]:
        return None
    start = character
    while start > opened + 2 and _NAME_CHAR.match(line[start - 1]):
        start -= 1
    end = character
    while end < len(line) and _NAME_CHAR.match(line[end]):
        end += 1
    name = line[start:end]
    if name[:1].isdigit() or line[start - 1 : start] == ".":  # a number or an attribute
        return None
    return name, start, end


def _entries(doc: Document, line_no: int) -> list[tuple[int, Path_, str]]:
    """``(start character, path, role)`` of each key and scalar value on a 1-based line."""
    out = []
    for role, table in (("key", doc.sources.keys), ("value", doc.sources.values)):
        for path, loc in table.items():
            if loc.line == line_no and loc.file == doc.file:
                out.append((loc.col - 1, path, role))
    return out


def _value_at(doc: Document, path: Path_) -> object:
    data: object = doc.data
    for part in path:
        try:
            data = data[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def spot_at(doc: Document, text: str, line: int, character: int) -> Spot | None:
    """What stands at a 0-based position of a parsed document.

    Args:
        doc: The document parsed from ``text``.
        text: Its text.
        line: The 0-based line.
        character: The 0-based character.

    Returns:
        The key or scalar value under the cursor, or None (blank space, a comment).
    """
    lines = text.splitlines()
    if not 0 <= line < len(lines):
        return None
    here = lines[line]
    best: tuple[int, Path_, str] | None = None
    for start, path, role in _entries(doc, line + 1):
        if role == "value" and isinstance(_value_at(doc, path), dict | list):
            continue
        end = token_end(here, start)
        if start <= character <= end and (best is None or start > best[0]):
            best = (start, path, role)
    if best is None:
        return None
    start, path, role = best
    end = token_end(here, start)
    word = here[start:end].strip("'\"")
    name = expression_name_at(here, character)
    return Spot(path, role, word, start, end, name[0] if name else None, doc)


def _find_marker(doc: Document) -> tuple[Path_, str] | None:
    """Where :data:`MARKER` landed: ``(path, role)``."""
    for path in doc.sources.keys:
        if path and path[-1] == MARKER:
            return path, "key"
    for path in doc.sources.values:
        value = _value_at(doc, path)
        if value == MARKER:
            return path, "value"
        if isinstance(value, str) and "${" in value and MARKER in value:
            return path, "value"
    return None


MAX_MENDS = 8
"""Most broken lines :func:`completion_spot` blanks out before it gives up."""


def _parse_mending(lines: list[str], cursor: int, file: str, path: Path | None) -> Document | None:
    """Parses ``lines``, blanking each line (other than the cursor's) a syntax error is on."""
    lines = list(lines)
    for _ in range(MAX_MENDS):
        try:
            return parse("\n".join(lines) + "\n", file, path)
        except BlueprintError as err:
            bad = err.location.line - 1
            if not 0 <= bad < len(lines) or bad == cursor or not lines[bad].strip():
                return None
            lines[bad] = ""
        except RecursionError:  # pragma: no cover - the loader refuses deep nesting first
            return None
    return None


def completion_spot(
    text: str, line: int, character: int, file: str, path: Path | None = None
) -> Spot | None:
    """Where the cursor stands in a text being typed, for completion.

    The word at the cursor is replaced by :data:`MARKER`; the text is parsed as
    is, then with ``:`` after the marker (a key being typed on a line of its own),
    then both again without the lines below the cursor (which may be broken too); a
    line with a syntax error elsewhere is blanked out (at most :data:`MAX_MENDS`).
    The first parse where the marker is a key or a whole value (or inside a
    ``${...}``) says where the cursor is.

    Args:
        text: The document's text.
        line: The 0-based line of the cursor.
        character: Its 0-based character.
        file: The document's display name.
        path: Its path, for relative references.

    Returns:
        The spot (``word`` is the prefix typed so far), or None when no parse places it.
    """
    if len(text) > MAX_BYTES:
        return None
    lines = text.splitlines()
    if line >= len(lines):
        lines += [""] * (line - len(lines) + 1)
    here = lines[line]
    character = min(character, len(here))
    expression = expression_name_at(here, character)
    if expression is not None:
        word, start = here[expression[1] : character], expression[1]
    else:
        word, start = word_at(here, character)
    before, after = here[:start], here[character:]
    after = after[len(_WORD_AHEAD.match(after).group()) :]  # the rest of the word goes too
    rest_blank = after.strip() == "" or after.lstrip().startswith("#")
    variants = [before + MARKER + after]
    if rest_blank and expression is None and not before.rstrip().endswith(":"):
        variants.append(before + MARKER + ":")
    for keep_below in (True, False):
        for variant in variants:
            edited = [*lines[:line], variant, *(lines[line + 1 :] if keep_below else [])]
            doc = _parse_mending(edited, line, file, path)
            if doc is None:
                continue
            found = _find_marker(doc)
            if found is None:
                continue
            spot_path, role = found
            name = word if expression is not None else None
            return Spot(spot_path, role, word, start, character, name, doc)
    return None
