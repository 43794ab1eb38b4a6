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

# Diamonds of extends and imports: six files of a few bytes name the file below them
# ten times each, 10**5 paths to the bottom. Each file used to be read and composed
# once per path (minutes); now once per load.
_DIAMOND = {"f0.yaml": "inputs: {x: [4]}\nblocks:\n  b0:\n    graph: [Dense: {units: 2}]\n"}
for _i in range(1, 6):
    _below = ", ".join([f"f{_i - 1}.yaml"] * 10)
    _DIAMOND[f"f{_i}.yaml"] = f"extends: [{_below}]\nimports: [{_below}]\n"
_DIAMOND["bp.yaml"] = "extends: f5.yaml\ngraph:\n  - b0: {}\n  - Dnese: {units: 2}\n"
case(
    "extends-imports-diamond",
    "validate",
    "--no-build",
    "bp.yaml",
    files=_DIAMOND,
    where=r"bp\.yaml:4:\d+",
    seconds=20,
)
