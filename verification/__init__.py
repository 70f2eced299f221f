"""Real-name membership: household registry, enrolment codes, verification policy and service.

Domain only: no Matrix, no web. The edge (bot/) calls verification.service.VerificationService
and carries out the effects it returns.
"""
