"""Reading a CSV table of numbers: the ``csv`` data source and ``blueprint predict``.

A table has a header row of column names; feature cells must be numbers, label cells
may be numbers or class names. Every message names columns (as the blueprint or the
model wrote them) and rows, never the file's content: a file that is not a table
(``/etc/passwd`` read as CSV) is never echoed.

No TensorFlow here: the table is read with Python's ``csv`` module into NumPy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keras_blueprints._core.errors import BlueprintError, Location, Plain

__all__ = ["MAX_TABLE_BYTES", "Table", "class_ids", "class_names", "read_table"]

MAX_TABLE_BYTES = 1 << 30
"""Largest CSV file read (1 GiB): it is read whole into memory."""


@dataclass(frozen=True)
class Table:
    """The columns read from a CSV file.

    Attributes:
        features: float32 array (rows, len(feature_names)).
        feature_names: The feature columns, in the order of ``features``.
        labels: The label columns present, by name: their cells as written (stripped).
        rows: Number of data rows.
    """

    features: Any
    feature_names: tuple[str, ...]
    labels: dict[str, list[str]]
    rows: int


def read_table(
    file: Path,
    *,
    labels: Sequence[str] = (),
    features: Sequence[str] | None = None,
    delimiter: str = ",",
    labels_required: bool = True,
    label_hint: str | None = None,
) -> Table:
    """Reads the feature and label columns of a CSV file.

    Args:
        file: The CSV file (bounded by ``MAX_TABLE_BYTES``, UTF-8, with a header row).
        labels: The label columns (their cells are kept as text).
        features: The feature columns, in order (default: every column but the labels).
        delimiter: The cell separator.
        labels_required: Whether a missing label column is an error (training) or is
            simply not read (prediction).
        label_hint: A hint added when a label column is missing.

    Returns:
        The table.

    Raises:
        BlueprintError: Not UTF-8 text, not a table, empty, a missing column, a row with
            another number of cells, a feature cell that is not a number (located at its
            row and column).
    """
    import csv as csv_module

    import numpy as np

    lines = _text_lines(file)
    try:
        rows = list(csv_module.reader(lines, delimiter=delimiter))
    except csv_module.Error as exc:  # a NUL byte, a bad delimiter
        raise BlueprintError(
            "the CSV file cannot be read as a table",
            Location(str(file)),
            expected=f"comma-separated text with cells split by {delimiter!r}",
            received=Plain(str(exc).split(":")[0]),
        ) from None
    if not rows:
        raise BlueprintError("the CSV file is empty", Location(str(file)), expected="a header row")
    header = [h.strip() for h in rows[0]]
    present = [name for name in labels if name in header]
    if labels_required:
        for name in labels:
            if name not in header:
                raise not_a_column(name, header, file, hint=label_hint)
    columns = list(features) if features is not None else [h for h in header if h not in labels]
    for name in columns:
        if name not in header:
            raise not_a_column(name, header, file)
    if len(rows) < 2:
        raise BlueprintError(
            "the CSV file has no rows", Location(str(file), 1, 1), expected="rows below the header"
        )
    index = {name: header.index(name) for name in header}
    wanted = [index[c] for c in columns]
    label_cells = {index[c]: c for c in present}
    values = np.empty((len(rows) - 1, len(columns)), "float32")
    named: dict[str, list[str]] = {c: [] for c in present}
    for r, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise BlueprintError(
                f"row {r} of the CSV file has {len(row)} cells",
                Location(str(file), r, 1),
                expected=f"{len(header)} cells, as in the header",
            )
        for c, name in label_cells.items():
            named[name].append(row[c].strip())
        for j, c in enumerate(wanted):
            try:
                values[r - 2, j] = float(row[c])
            except ValueError:
                raise BlueprintError(
                    f"cell of column '{header[c]}' is not a number",
                    Location(str(file), r, _column(lines[r - 1], row, c, delimiter)),
                    expected="numbers only (encode categories as integers)",
                ) from None
    return Table(values, tuple(columns), named, len(rows) - 1)


_COLUMN_NAME = re.compile(r"[A-Za-z_][\w .\-]{0,39}")


def not_a_column(
    name: str, header: list[str], file: Path, *, hint: str | None = None
) -> BlueprintError:
    """The error for a column the blueprint (or the model) names and the file lacks.

    The header's names are listed, with the closest one, when the header row is made
    of column names (short names, not numbers or paths): a file that is not a table is
    never echoed.
    """
    location = Location(str(file), 1, 1)
    if len(header) <= 50 and all(_COLUMN_NAME.fullmatch(h) for h in header):
        return BlueprintError.unknown_name(
            f"a column of {file.name}", name, header, location, extra_hint=hint, ordered=True
        )
    return BlueprintError(
        f"'{name}' is not a column of {file.name}",
        location,
        expected=f"a name from the header row (line 1, {len(header)} columns)",
        hint=hint,
    )


def class_names(cells: list[str]) -> tuple[str, ...] | None:
    """The sorted class names of a label column, or None when its cells are numbers."""
    try:
        for cell in cells:
            float(cell)
    except ValueError:
        return tuple(sorted(set(cells)))
    return None


def class_ids(cells: list[str]) -> Any:
    """A label column's values: numbers as they are, else class ids of the sorted names.

    ``setosa, versicolor, virginica`` become 0, 1, 2 (in sorted order, whatever order the
    rows come in), as Keras' ``StringLookup`` with a sorted vocabulary would number them.
    """
    import numpy as np

    names = class_names(cells)
    if names is None:
        return np.array([float(c) for c in cells], "float64")
    ids = {n: i for i, n in enumerate(names)}
    return np.array([ids[c] for c in cells], "float64")


def _text_lines(file: Path) -> list[str]:
    """The lines of a UTF-8 text file (bounded, regular files only), located if not text."""
    from keras_blueprints._core.paths import read_bounded

    raw = read_bounded(file, Location(str(file)), MAX_TABLE_BYTES, what="the CSV file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BlueprintError(
            "the CSV file is not UTF-8 text",
            Location(str(file), line, 1),
            expected="a text table of numbers",
            received=Plain(f"a byte 0x{raw[exc.start]:02x} on line {line}"),
        ) from None
    if "\0" in text:
        line = text[: text.index("\0")].count("\n") + 1
        raise BlueprintError(
            "the CSV file is not text",
            Location(str(file), line, 1),
            expected="a text table of numbers",
            received=Plain(f"a NUL byte on line {line}"),
        )
    return text.splitlines()


def _column(line: str, row: list[str], index: int, delimiter: str) -> int:
    """1-based character column of cell ``index`` (exact when no cell is quoted)."""
    if '"' in line:
        return 1
    return sum(len(cell) + len(delimiter) for cell in row[:index]) + 1
