"""``python -m meraki_sim serve ...``."""

import sys

from .cli import main

sys.exit(main())
