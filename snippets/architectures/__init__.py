"""Snippets for the deep-learning architecture pages."""
