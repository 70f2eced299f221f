"""The admin dashboard and its JSON API, served by the bot's aiohttp app when ``web.dashboard``
is on (off by default; the web app binds 127.0.0.1 by default).

Access is by the tokens of ``linli tokens create``: pages use a login form that trades the
token for a random session id in an HttpOnly, SameSite=Strict cookie (the token itself never
travels again and never appears in a URL); the API also takes ``Authorization: Bearer``.
An officer's token (or a station admin's) sees only that station's compounds; another
station's compound answers 404 exactly as a slug that does not exist, so probing cannot list
compounds. Other refusals are 403 ``{"errcode", "error"}``.

Personal data shown, and where:
- the overview, buildings, coverage over time and response-time figures are counts only;
- a compound page lists the flats where nobody is enrolled (addresses, no names) and the
  Matrix ids of accounts waiting to verify (no names);
- the visit sheet (officers only) adds the full names of the people registered in those
  flats, because an officer going door to door has to ask for someone by name; it never
  shows phone numbers or notes;
- the audit log names actors and targets by Matrix id.
Each page, API call or CSV export that shows any of these is written to the audit table with
the token as the actor. Phone numbers are never shown anywhere.

The modules, one job each: ``sessions`` (login, logout, the session cookie), ``access`` (who
asks, in which language, what they may see), ``queries`` (the read model over the tracker,
the registry, the snapshots, the questions and the audit table), ``pages`` (HTML),
``responses`` (JSON, CSV, refusals, security headers), ``routes`` (the URL map and thin
handlers: parse, query, audit, render).
"""
