"""What a trained model is judged by: pictures and numbers written to ``RUN_DIR/evaluation/``.

Drawn at the end of ``blueprint train`` and by ``blueprint evaluate``. The kind of
judgement follows the task, read from the model's outputs and the data's targets
(:mod:`.judge`): classification (a confusion matrix and per-class precision, recall,
F1), segmentation (masks, IoU and Dice per class), sequences (token and sequence
accuracy, decoded samples) and reconstruction (reconstructions, the PCA baseline,
codes and a latent grid). Every file is written atomically. :mod:`.ged` holds the
generalised energy distance that judges a model sampling several segmentations
(zoo:prob_unet), in NumPy.
"""

from __future__ import annotations

from keras_blueprints.evaluation.judge import EVALUATION_FILE, JudgeContext, judge

__all__ = ["EVALUATION_FILE", "JudgeContext", "judge"]
