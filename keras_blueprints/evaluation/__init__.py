"""Measures a trained model is judged by, in NumPy (no TensorFlow): :mod:`.ged`."""
