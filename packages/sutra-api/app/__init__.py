"""sutra-api service."""
