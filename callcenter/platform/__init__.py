"""Platform: settings, errors, Persian text, metrics, bus and notifier, scheduler, passwords, shared rules."""
