"""Errors of the prediction server. Each carries the HTTP status a client gets and a message that names
the problem; the server answers ``{"error": message}``."""


class ServeError(Exception):
    """A request the server cannot answer; ``status`` is the HTTP status (4xx for a client's mistake)."""

    status = 400

    def __init__(self, message, status=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class BadRequest(ServeError):
    """The request is malformed or does not fit the model (wrong shape, dtype, NaN, ragged, ...): 400."""

    status = 400


class NotFound(ServeError):
    """An unknown model, version, input or output name: 404."""

    status = 404


class PayloadTooLarge(ServeError):
    """The request body is above the server's limit: 413."""

    status = 413


class UnsupportedMediaType(ServeError):
    """An upload in a format the endpoint does not read (an image that is not PNG or JPEG): 415."""

    status = 415


class ModelLoadError(ValueError):
    """A model file or model folder cannot be served; the message is one line naming the file."""
