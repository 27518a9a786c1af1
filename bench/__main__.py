"""`python -m bench [ingest|signals|latency|waiting|history|all] [options]`: see bench/cli.py."""

from bench.cli import main

raise SystemExit(main())
