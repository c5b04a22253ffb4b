"""Render Asterisk's configuration from our database and settings (Jinja2 templates)."""
