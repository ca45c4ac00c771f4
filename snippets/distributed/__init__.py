"""Snippets for the distributed-training pages."""
