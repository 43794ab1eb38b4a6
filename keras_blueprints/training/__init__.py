"""Fitting a blueprint: the run directory, resuming, pretraining, schedules."""
