"""The Overture worker: runs journey workflows and the activities they call.

`python worker.py` or `overture worker` runs it with settings from the environment (prefix
`OVERTURE_`, see README "Configuration"); `overture dev` runs the same worker inside the embedded
stack. What it is made of lives in `starter/runtime/worker.py`.
"""

from starter.runtime.worker import main

if __name__ == "__main__":
    main()
