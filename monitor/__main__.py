"""`python -m monitor` is the `monitor` command."""

from monitor.cli import run_main

run_main()
