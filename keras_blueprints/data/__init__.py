"""Data for ``blueprint train``: registered sources and the ``tf.data`` pipeline."""

from __future__ import annotations

from .registry import SOURCES, SourceContext, register_source

__all__ = ["SOURCES", "SourceContext", "register_source"]
