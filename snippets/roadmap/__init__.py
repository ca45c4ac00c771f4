"""Snippets for the roadmap pages: why deep learning, and the stages of the roadmap."""
