"""Snippets for the optimization pages: gradient descent, momentum, adaptive optimizers, schedules."""
