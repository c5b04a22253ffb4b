"""The staff pages: web routes (one module per resource), websocket hub, middleware, templates, static assets."""
