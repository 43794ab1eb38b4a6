"""Views of a blueprint or a model; nothing here changes either.

* :mod:`.jsonschema`: the JSON Schema editors read; :mod:`.layer_arguments` types and
  describes each layer argument in it, :mod:`.drafts` writes it in draft 07.
* :mod:`.plain`: a resolved blueprint written back as plain YAML.
* :mod:`.diffing`: structural differences between two blueprints.
* :mod:`.diagram`: the architecture as Graphviz DOT.
* :mod:`.flops`: floating-point operations of a built model.
"""
