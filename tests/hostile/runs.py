"""Hostile cases: runs and run directories in states a command must survive."""

from __future__ import annotations
