"""Snippets for the deployment pages: model compression and serving."""
