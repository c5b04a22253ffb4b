"""The operators' browser console: web routes, websocket hub, Jinja2 templates, static assets."""
