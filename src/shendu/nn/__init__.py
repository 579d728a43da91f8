"""Neural-network building blocks, shaped like ``torch.nn``."""
