"""Safety bulletins at the edge: ``feature.py`` (the scheduler's tick, ``!bulletin`` and
``!notice``), ``transport.py`` (sending to Matrix, sorting refusals into permanent and
temporary, delivery reports), ``fire_times.py`` (APScheduler's triggers as the core's
``FireTimes``), ``config.py`` (settings from config.yaml) and ``cli.py`` (``linli bulletins``).
The core (the ledger, retries and their backoff, schedules) is the ``broadcasts`` package."""
