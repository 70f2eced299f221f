"""Moderation for officers: mute, kick, ban, warn, redact, flood control. Plain data and
policy; the Matrix edge carries out the effects this package returns."""
