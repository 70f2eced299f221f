"""Residents' questions at the edge: ``feature.py`` (questions seen in the rooms, flags in the
officers' room, ``!questions``, ``!answered``, ``!stats``) and ``cli.py`` (``linli stats``,
``linli questions``). The core is the ``questions`` package."""
