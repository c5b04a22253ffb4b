"""Open311 GeoReport v2: services from categories, requests from tickets, API keys and their limits."""
