"""``python -m insole``: the command line (`insole.cli.main`)."""

import sys

from .cli import main

sys.exit(main())
