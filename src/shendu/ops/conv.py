"""placeholder: convolution and pooling Functions."""
__all__ = []
