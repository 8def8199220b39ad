"""pre-commit hooks: a fast rule scan of the staged change, and a model review."""
