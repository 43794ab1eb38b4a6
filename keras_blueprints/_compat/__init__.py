"""The one door to upstream internals: one module per library, each with the versions checked."""
