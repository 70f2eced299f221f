"""Shared vocabulary of every Linli package: identifiers, time, durations, errors, messages.

Nothing in here knows of Matrix clients, databases or web servers.
"""
