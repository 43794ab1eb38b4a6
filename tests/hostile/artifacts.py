"""Hostile cases: damaged or foreign model files, exports and data given to a command."""

from __future__ import annotations
