"""sutra-embedding-service service."""
