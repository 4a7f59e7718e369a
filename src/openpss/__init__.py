"""openpss: an open, self-hosted security platform and the virtual devices it manages."""

__version__ = "0.1.0"
