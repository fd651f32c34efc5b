"""``python -m tracewire``: the ``tracewire`` command line."""

from __future__ import annotations

import sys

from tracewire._cli import main

if __name__ == "__main__":
    sys.exit(main())
