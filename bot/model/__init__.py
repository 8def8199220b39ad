"""The model backend: the only place that talks to a language model."""

from bot.model.backend import ModelBackend, ModelError, ModelReply

__all__ = ["ModelBackend", "ModelError", "ModelReply"]
