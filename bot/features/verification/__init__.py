"""Real-name membership at the edge: ``feature.py`` (joins, the resident's code by direct
message, ``!verify`` and its siblings, power levels and removals), ``config.py`` (the policy
from config.yaml) and ``cli.py`` (``linli households|codes|cards|keys``). The core is the
``verification`` package."""
