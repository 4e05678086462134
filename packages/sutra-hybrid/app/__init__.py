"""sutra-hybrid service."""
