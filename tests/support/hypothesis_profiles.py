"""Hypothesis profiles: ``full`` (``make test``, every example) and ``fast`` (``make test-fast``, a tenth of them).

A property test that asks for its own number of examples states it as ``examples(n)``: n under ``full``, a tenth
under ``fast``. No deadline in either: a slow example on a loaded two-core machine is not a failure.
"""

from __future__ import annotations

from hypothesis import settings

FULL_EXAMPLES = 100  # Hypothesis's own default
FAST_EXAMPLES = 10

settings.register_profile("full", max_examples=FULL_EXAMPLES, deadline=None)
settings.register_profile("fast", max_examples=FAST_EXAMPLES, deadline=None)
# The default; ``--hypothesis-profile=fast`` on the command line loads the other one after this module is imported.
settings.load_profile("full")


def examples(full: int) -> int:
    """``full`` examples under the full profile, the same share of them as the loaded profile's default otherwise."""
    return max(1, full * settings().max_examples // FULL_EXAMPLES)
