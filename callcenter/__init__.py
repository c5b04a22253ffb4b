"""Pasokh core, by layer: platform; staff, tickets, intake, reports, verification; telephony; bootstrap."""
