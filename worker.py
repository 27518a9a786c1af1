"""The Overture worker: runs journey workflows and the activities they call.

`python worker.py` is `overture worker`: settings from the environment (prefix `OVERTURE_`, see
README "Configuration"), and a bad setting, template or provider stops it with what to fix.
What the worker is made of lives in `starter/runtime/worker.py`.
"""

import sys

from starter.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["worker"]))
