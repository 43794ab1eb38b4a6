"""Resolution: a composed document becomes a typed, frozen :class:`~keras_blueprints.Blueprint`.

Modules: :mod:`.values` (where a value stands, ``${}`` substitution, safety
checks), :mod:`.sections` (``params``, ``inputs``, ``compile``), :mod:`.expand`
(the graph: repeats, blocks, names, references, layer arguments), :mod:`.graph`
(pending nodes and the whole-graph checks), :mod:`.models` (``models:``).
Nothing here imports TensorFlow.
"""

from __future__ import annotations

from keras_blueprints.resolve.expand import TOP_LEVEL_KEYS, resolve
from keras_blueprints.resolve.sections import COMPILE_EXTRA, DTYPES
from keras_blueprints.resolve.values import NAME_RE, REF_RE

__all__ = ["COMPILE_EXTRA", "DTYPES", "NAME_RE", "REF_RE", "TOP_LEVEL_KEYS", "resolve"]
