"""Builders: pure functions from a resolved blueprint to Keras objects.

These modules import Keras (and so TensorFlow); nothing upstream of them does.
"""
