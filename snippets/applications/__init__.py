"""Snippets for the deep-learning-in-industry pages (healthcare, finance, transportation)."""
