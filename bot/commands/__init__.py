"""Chat commands: one router; each command declares its roles and typed arguments."""
