"""Prometheus text exposition without a client library: a handful of gauges and counters
gathered from the running bot and the features at scrape time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Sample:
    name: str
    value: float
    help: str
    kind: str = "gauge"  # gauge or counter
    labels: dict[str, str] = field(default_factory=dict)


MetricSource = Callable[[], Awaitable[Iterable[Sample]]]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(samples: Iterable[Sample]) -> str:
    """Samples of one name are grouped under one HELP/TYPE header, as Prometheus expects."""
    by_name: dict[str, list[Sample]] = {}
    for s in samples:
        by_name.setdefault(s.name, []).append(s)
    lines: list[str] = []
    for name in sorted(by_name):
        group = by_name[name]
        lines.append(f"# HELP {name} {group[0].help}")
        lines.append(f"# TYPE {name} {group[0].kind}")
        for s in group:
            labels = ""
            if s.labels:
                inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(s.labels.items()))
                labels = "{" + inner + "}"
            value = repr(float(s.value)) if s.value != int(s.value) else str(int(s.value))
            lines.append(f"{name}{labels} {value}")
    return "\n".join(lines) + "\n"
