"""The bot's aiohttp app: health, Prometheus metrics, and (when enabled) the admin dashboard."""
