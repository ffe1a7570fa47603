"""``python -m outfit_cli``: the ``outfit`` command."""

import sys

from outfit_cli import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
