"""Moderation at the edge: ``feature.py`` (``!mute``, ``!kick``, ``!ban`` …, flood control on
messages, and carrying out the service's effects in Matrix) and ``config.py`` (settings from
config.yaml). The core is the ``moderation`` package."""
