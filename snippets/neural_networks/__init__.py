"""Snippets for the neural-network basics pages."""
