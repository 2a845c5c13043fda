"""``python -m cell2net_core``."""

import sys

from .cli import main

sys.exit(main())
