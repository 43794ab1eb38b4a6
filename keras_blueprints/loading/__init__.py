"""Step 1, load: YAML text to located plain data, without importing TensorFlow.

* :mod:`.source`: the safe YAML reader and the map of where every value stands.
* :mod:`.document`: ``extends``, ``imports``, ``set:`` and command-line overrides.
* :mod:`.expressions`: the ``${...}`` language (parsed and evaluated, never executed).
* :mod:`.valuetypes`: the small type language of block parameters.
* :mod:`.zoo`: ``zoo:NAME``, the blueprints shipped with the package.

Step 2 (:mod:`keras_blueprints.resolve`) turns the document into a frozen
:class:`~keras_blueprints.resolve.schema.Blueprint`.
"""
