"""``blueprint lsp``: a Language Server Protocol server for blueprints (pygls, stdio).

Diagnostics (every load-time error and warning, as ``blueprint validate --no-build``
reports them, then the shape errors of a real build), hover, completion, go to
definition and the document outline. The modules read in the order a request
flows: :mod:`~keras_blueprints.lsp.text` (what stands at a position),
:mod:`~keras_blueprints.lsp.analysis` (loading a document), one module per feature,
and :mod:`~keras_blueprints.lsp.server` (pygls). Only ``server`` imports pygls. The
server never imports TensorFlow or Keras: :mod:`~keras_blueprints.lsp.worker` builds
in a process of its own, which keeps them loaded.
"""
