"""Registry, codes and verification state; implements ``verification.ports``.

The repository holds the DataProtector: values are encrypted on the way in and decrypted on
the way out, so the domain sees plain names and the database only ciphertext and keyed
hashes. Each public method writes in the caller's unit of work, or in one transaction of its
own when none is open. Bulk paths (import, adoption, due work, reports) cost a fixed number
of queries, not one per person or member.

One part per job: ``registry`` (households, people, imports, key rotation), ``codes``
(enrolment codes), ``members`` (member states, links, attempts), ``due`` (the periodic work),
``figures`` (enrolment figures); ``rows`` holds what they share.
"""

from __future__ import annotations

from linli.storage.repos.verification.codes import CodeRepository
from linli.storage.repos.verification.due import DueWorkRepository
from linli.storage.repos.verification.figures import FiguresRepository
from linli.storage.repos.verification.members import MemberRepository
from linli.storage.repos.verification.registry import RegistryRepository
from linli.storage.repos.verification.rows import NAME_PURPOSE, PHONE_PURPOSE, RotationCounts
from linli.verification.model import Link

__all__ = ["NAME_PURPOSE", "PHONE_PURPOSE", "Link", "RotationCounts", "VerificationRepository"]


class VerificationRepository(
    RegistryRepository, CodeRepository, MemberRepository, DueWorkRepository, FiguresRepository
):
    """The registry and the members of every compound: ``verification.ports``'
    ``VerificationStore``. Built with the database, the clock and the DataProtector."""
