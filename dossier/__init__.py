"""dossier: a static site generator for cross-linked news dossiers."""

__version__ = "0.1.0"
