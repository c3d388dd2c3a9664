"""``python -m cmloss.experiments``: see :mod:`cmloss.experiments.cli`."""

from cmloss.experiments.cli import main

raise SystemExit(main())
