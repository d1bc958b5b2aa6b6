"""User-facing errors: one line saying what, where, and what to do. The CLI prints them and exits 2."""


class LayoutgenError(Exception):
    """An error caused by the user's input or environment (not a bug)."""


class ModelError(LayoutgenError):
    """A model file that cannot be used."""


class PdkError(LayoutgenError):
    """PDK data or cell views that are missing or broken."""
