"""Training callbacks declared in a blueprint's ``train.callbacks:``.

Standard Keras callbacks (``early_stopping``, ``model_checkpoint``,
``reduce_lr_on_plateau``, ``tensorboard``, ``csv_logger``,
``backup_and_restore``, ``terminate_on_nan``) with paths under the run
directory, and monitors that teach what goes wrong in training:
``learning_curves`` (over- and underfitting), ``gradient_flow`` (vanishing and
exploding gradients), ``dead_units`` (dying ReLUs), plus ``teacher_forcing``
(scheduled sampling for encoder-decoders). See docs/callbacks.md.

Importing this package imports neither TensorFlow nor NumPy: the factories
import them when called.
"""

from __future__ import annotations

from keras_blueprints.callbacks.registry import CALLBACKS, CallbackContext, register_callback

__all__ = ["CALLBACKS", "CallbackContext", "TrainingWarning", "register_callback"]


class TrainingWarning(UserWarning):
    """A training pathology a monitor found: vanishing or exploding gradients, dead units.

    Filter it like any warning, e.g. ``warnings.simplefilter("error", TrainingWarning)``
    to stop a run at the first sign of trouble.
    """
