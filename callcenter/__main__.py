"""``python -m callcenter`` runs the CLI."""

import sys

from callcenter.bootstrap.cli import main

sys.exit(main())
