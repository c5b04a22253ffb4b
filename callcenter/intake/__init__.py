"""Intake: what callers leave with the IVR instead of waiting, and the policy that offers it."""
