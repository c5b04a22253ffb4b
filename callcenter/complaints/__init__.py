"""The inspection office's complaints system: intake, anonymous follow-up, meetings, case work and analysis."""
