"""Exporting trained models for serving: SavedModel (verified), .keras, TFLite."""
