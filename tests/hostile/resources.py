"""Hostile cases: a blueprint that asks for more memory or time than it may have."""

from __future__ import annotations

from . import case

case(
    "deep-flow-nesting",
    "validate",
    "--no-build",
    "deep.yaml",
    files={"deep.yaml": "inputs: {x: [2]}\ngraph: " + "[" * 100_000 + "]" * 100_000 + "\n"},
    where=r"deep\.yaml:2:\d+",
    seconds=30,
)

# A search range as wide as memory: its domain used to be listed (to work out the
# conditions of what the repeat governs) before the enumeration limit was checked.
_HUGE_REPEAT = """\
inputs: {x: [4]}
params: {depth: {int: [1, 1000000000]}}
graph:
  - repeat: ${depth}
    graph:
      - Dense: {units: 4}
"""
case(
    "space-huge-repeat-range",
    "validate",
    "--no-build",
    "bp.yaml",
    files={"bp.yaml": _HUGE_REPEAT},
    exit=0,
    seconds=20,
)
case(
    "space-huge-repeat-range-table",
    "space",
    "bp.yaml",
    files={"bp.yaml": _HUGE_REPEAT},
    exit=0,
    seconds=20,
)
