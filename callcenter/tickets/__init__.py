"""Tickets: filing, tracking codes, the lifecycle, inboxes, escalation, referral units, photos, SMS."""
