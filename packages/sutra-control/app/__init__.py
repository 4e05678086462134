"""sutra-control service."""
