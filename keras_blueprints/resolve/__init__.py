"""Resolution: a composed document becomes a typed, frozen :class:`~keras_blueprints.Blueprint`.

Modules: :mod:`.expand` (:func:`resolve`: the steps in order), :mod:`.context`
(the :class:`~.context.ResolveContext` passed down: space provider, conditions,
read rule, budgets), :mod:`.values` (where a value stands, ``${}`` substitution,
safety checks), :mod:`.sections` (``params``, ``inputs``, ``compile``),
:mod:`.nodes` (graph entries: ``when:``, ``repeat:``, node names), :mod:`.blocks`
(YAML and Python block instances), :mod:`.references` (``from:``, ``share:``,
``outputs:``), :mod:`.arguments` (block and layer arguments), :mod:`.identifiers`
(the Keras names they write), :mod:`.monitors` (monitored metric names), :mod:`.graph`
(pending nodes and the whole-graph checks), :mod:`.models` (``models:``),
:mod:`.specs` (the ``data``, ``train``, ``tune``, ``runtime`` and ``compile``
sections, each declared once) read by :mod:`.training`'s one reader,
:mod:`.spaces` and :mod:`.conditions` (search spaces), :mod:`.directions`
(whether a metric is maximised), :mod:`.budget` (parameters counted before
anything is allocated), :mod:`.schema` (the frozen objects builders receive).
Nothing here imports TensorFlow. docs/architecture.md draws the whole flow.
"""

from __future__ import annotations

from keras_blueprints.resolve.expand import TOP_LEVEL_KEYS, resolve
from keras_blueprints.resolve.sections import DTYPES
from keras_blueprints.resolve.values import NAME_RE, REF_RE

__all__ = ["DTYPES", "NAME_RE", "REF_RE", "TOP_LEVEL_KEYS", "resolve"]
