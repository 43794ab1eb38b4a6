"""Views of a blueprint or a model; nothing here changes either.

* :mod:`.jsonschema`: the JSON Schema editors read; :mod:`.layer_arguments` types and
  describes each layer argument in it, :mod:`.drafts` writes it in draft 07.
* :mod:`.plain`: a resolved blueprint written back as plain YAML.
* :mod:`.diffing`: structural differences between two blueprints.
* :mod:`.diagram`: the architecture as Graphviz DOT; :mod:`.built` reads from the built
  model what it draws beyond the YAML (shapes, parameters, a Python block's layers).
* :mod:`.interactive`: the architecture as an offline interactive page.
* :mod:`.flops`: floating-point operations of a built model.
"""
