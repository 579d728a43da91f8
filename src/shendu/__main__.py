"""``python -m shendu``: the same as the ``shendu`` command."""
import sys

from .cli import main

sys.exit(main())
