"""Hostile cases: a blueprint that reads or writes where it has no business."""

from __future__ import annotations

from . import case, make_fifo

case(
    "extends-fifo",
    "validate",
    "--no-build",
    "bp.yaml",
    files={"bp.yaml": "extends: pipe.yaml\n"},
    setup=make_fifo("pipe.yaml"),
    where=r"bp\.yaml:1:\d+",
    seconds=30,
)

case(
    "imports-fifo",
    "validate",
    "--no-build",
    "bp.yaml",
    files={"bp.yaml": "name: x\nimports: [blocks.yaml]\n"},
    setup=make_fifo("blocks.yaml"),
    where=r"bp\.yaml:2:\d+",
    seconds=30,
)

case(
    "extends-dev-zero",
    "validate",
    "--no-build",
    "bp.yaml",
    files={"bp.yaml": "name: x\nextends: /dev/zero\n"},
    where=r"bp\.yaml:2:10",
    seconds=30,
)
