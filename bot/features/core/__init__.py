"""What every deployment has: ``feature.py`` (``!help`` and ``!status``)."""
