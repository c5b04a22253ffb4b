"""Pasokh core: settings, domain services, AMI bridge, event bus, app factory and CLI."""
