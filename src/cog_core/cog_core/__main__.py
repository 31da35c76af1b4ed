"""`python -m cog_core` is the same as `cogrl`."""

import sys

from cog_core.cli import main

sys.exit(main())
