"""Hostile cases: damaged or foreign model files, exports and data given to a command."""

from __future__ import annotations

from . import case

case(
    "share-empty-name",
    "validate",
    "--no-build",
    "bp.yaml",
    files={
        "bp.yaml": 'inputs: {x: [4]}\ngraph:\n  - {name: d1, Dense: {units: 2}}\n  - share: ""\n'
    },
    where=r"bp\.yaml:4:12",
    seconds=30,
)
