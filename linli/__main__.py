"""``python -m linli`` is the same as the ``linli`` command."""

import sys

from linli.bot.cli import main

sys.exit(main())
