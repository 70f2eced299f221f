"""The Matrix edge and the composition root: client, sync loop, event translation, chat
commands, CLI, admin web. Everything that knows of nio or aiohttp lives here."""
