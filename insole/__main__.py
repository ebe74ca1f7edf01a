"""``python -m insole``: the command line (`insole.cli.main`)."""

import sys

from insole.cli import main

sys.exit(main())
