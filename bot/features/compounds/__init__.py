"""Stations, compounds and staff at the edge: ``rooms.py`` (creating and adopting rooms with
their power levels), ``cli.py`` (``linli station|compound|staff``), ``bulk_import.py``
(``linli compound import``) and ``settings.py`` (``linli compound set``'s checks). The core is
the ``community`` package."""
