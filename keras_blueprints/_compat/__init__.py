"""The one door to upstream internals (``keras.src``, ``keras_tuner.src``, private members).

Everything keras-blueprints needs from Keras or keras-tuner that has no public API
lives here, one module per library, each function saying which internal it touches,
why no public API suffices and which version it was checked against. Ruff's
``banned-api`` rule (pyproject.toml) refuses private imports everywhere else, and
setup.cfg caps the versions these functions were checked with.

The submodules import their library: import them where that library is already
needed (never on the load/validate path, which imports neither Keras nor TensorFlow).
"""
