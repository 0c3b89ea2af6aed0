"""Identity service: the canonical catalog and ID resolution."""
