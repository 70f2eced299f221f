"""Storage implements the domain's ports: every method a port declares exists on its
implementation with the same parameters, so a service wired with the real repository calls
what it was written against."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from linli.common.ports import AuditLog, Transactions
from linli.moderation.ports import ModerationStore
from linli.questions.model import QuestionStore
from linli.storage.db import Database
from linli.storage.repos.audit import AuditRepository
from linli.storage.repos.moderation import ModerationRepository
from linli.storage.repos.questions import QuestionRepository
from linli.storage.repos.verification import VerificationRepository
from linli.verification.ports import MemberStore, RegistryStore, VerificationStore

PAIRS: list[tuple[Any, type]] = [
    (Transactions, Database),
    (AuditLog, AuditRepository),
    (ModerationStore, ModerationRepository),
    (QuestionStore, QuestionRepository),
    (RegistryStore, VerificationRepository),
    (MemberStore, VerificationRepository),
    (VerificationStore, VerificationRepository),
]


def members_of(protocol: type) -> list[str]:
    return sorted(
        name for klass in protocol.__mro__ if klass is not object and klass.__name__ != "Protocol"
        and klass.__name__ != "Generic"
        for name, value in vars(klass).items()
        if callable(value) and not name.startswith("_")
    )


def parameters(function: Any) -> list[tuple[str, Any, bool]]:
    signature = inspect.signature(function)
    return [(p.name, p.kind, p.default is not inspect.Parameter.empty)
            for p in signature.parameters.values()]


@pytest.mark.parametrize(("port", "implementation"), PAIRS,
                         ids=[f"{p.__name__}-{i.__name__}" for p, i in PAIRS])
def test_the_implementation_has_every_method_of_the_port(port: type, implementation: type) -> None:
    names = members_of(port)
    assert names, "a port without methods checks nothing"
    for name in names:
        assert hasattr(implementation, name), f"{implementation.__name__} lacks {name}"
        declared = getattr(port, name)
        actual = getattr(implementation, name)
        assert parameters(actual) == parameters(declared), name
        assert (inspect.iscoroutinefunction(actual)
                == inspect.iscoroutinefunction(declared)), name
