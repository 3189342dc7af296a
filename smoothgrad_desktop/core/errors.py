"""Exceptions the core raises with a message meant for the user (one line, no traceback)."""


class UserFacingError(Exception):
    """An error whose message is a complete, one-line explanation for the user."""


class ImageLoadError(UserFacingError):
    """An input file could not be read as an image or raw model input."""


class ModelLoadError(UserFacingError):
    """A model or its weights could not be loaded."""


class AttributionError(UserFacingError):
    """The attribution could not be computed (bad target, wrong input shape, non-finite scores...)."""


class Cancelled(Exception):
    """Raised inside a run when the caller's cancel check returns True."""


class ExportError(UserFacingError):
    """A result could not be written (target exists, permission denied, disk full...)."""
