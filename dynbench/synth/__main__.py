"""Entry point for ``python -m dynbench.synth``."""

from dynbench.synth.cli import main

raise SystemExit(main())
