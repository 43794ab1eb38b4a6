"""Training callbacks declared in blueprints (learning curves, gradient flow, dead units).

They arrive with the training stage (``blueprint train``).
"""
