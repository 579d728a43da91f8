"""placeholder: filled in by its module."""
__all__ = []
