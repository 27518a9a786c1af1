"""`python -m starter.cli`: the `overture` command."""

import sys

from starter.cli.main import main

sys.exit(main())
