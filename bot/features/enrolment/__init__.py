"""Enrolment reporting at the edge, in one folder: the figures kept fresh for ``/metrics`` and
the daily snapshots (``feature``), ``linli tokens`` and ``linli report enrolment``
(``cli_tokens``, ``cli_report``), the tables they and the dashboard show (``reporting``), and
the admin dashboard (``dashboard/``). Its domain is ``linli.enrolment``.

Kept empty on purpose: the CLI loads ``cli_tokens`` and ``cli_report`` at start-up, so nothing
heavy may be imported here."""
