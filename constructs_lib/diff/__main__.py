"""`python -m constructs_lib.diff`: see constructs_lib.diff."""

import sys

from constructs_lib.diff._cli import main

sys.exit(main())
