"""Hyperparameter search over a blueprint's search spaces, on keras-tuner's engine.

* :func:`tune` / :func:`resume_search` (:mod:`.search`): the search and its run directory;
* :class:`HyperParametersProvider` (:mod:`.provider`): spaces as keras-tuner hyperparameters;
* :mod:`.engine`: the hypermodel (every trial builds through ``keras_blueprints.build``'s
  builder) and keras-tuner's tuners; imported only when a search runs.

Importing this package does not import TensorFlow.
"""

from keras_blueprints.tuning.provider import HyperParametersProvider
from keras_blueprints.tuning.search import TuneResult, resume_search, tune

__all__ = ["HyperParametersProvider", "TuneResult", "resume_search", "tune"]
