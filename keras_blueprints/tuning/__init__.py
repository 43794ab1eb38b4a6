"""Hyperparameter search over a blueprint's search spaces (keras-tuner).

The search-space syntax and the ``blueprint tune`` command arrive with the
tuning stage; every trial will build through :func:`keras_blueprints.build`.
"""
