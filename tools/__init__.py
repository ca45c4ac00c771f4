"""What serves the project rather than a page: the manifest loader, recorders, pytest plugins, audits."""
