"""Stations, compounds and who holds which role where. No Matrix here."""
