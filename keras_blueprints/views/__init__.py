"""Views of a blueprint or a model; nothing here changes either.

* :mod:`.jsonschema`: the JSON Schema editors read.
* :mod:`.plain`: a resolved blueprint written back as plain YAML.
* :mod:`.diffing`: structural differences between two blueprints.
* :mod:`.diagram`: the architecture as Graphviz DOT.
* :mod:`.flops`: floating-point operations of a built model.
"""
