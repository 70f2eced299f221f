"""Features wired into the running bot: each has commands, event handling and periodic work."""
