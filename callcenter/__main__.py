"""``python -m callcenter`` runs the CLI."""

import sys

from callcenter.cli import main

sys.exit(main())
