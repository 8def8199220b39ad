"""Bastion: a self-hosted security review bot."""

__version__ = "0.1.0"
