#!/usr/bin/env python3
"""Build the dossier: `python build.py` (see README.md). A thin entry point over dossier.cli."""

import sys

from dossier.cli import main

if __name__ == "__main__":
    sys.exit(main())
