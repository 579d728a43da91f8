"""Errors raised by shendu, worded for the person reading them."""


class ShapeError(ValueError):
    """A shape does not fit an operation or layer; the message names both shapes."""
