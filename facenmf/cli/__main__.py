"""``python -m facenmf.cli``."""

import sys

from . import main

sys.exit(main())
