"""Prometheus metrics, plus latency recorders whose quantiles the benchmark and /metrics both read."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import Metric, SummaryMetricFamily
from prometheus_client.registry import Collector


class LatencyRecorder:
    """Keeps the last ``capacity`` samples (seconds) and answers exact quantiles over them."""

    def __init__(self, capacity: int = 20_000) -> None:
        self._samples: deque[float] = deque(maxlen=capacity)
        self.count = 0
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self._samples.append(seconds)
        self.count += 1
        self.total += seconds

    def quantile(self, q: float) -> float | None:
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        index = min(len(ordered) - 1, int(q * len(ordered)))
        return ordered[index]

    @property
    def values(self) -> list[float]:
        return list(self._samples)

    def reset(self) -> None:
        self._samples.clear()
        self.count = 0
        self.total = 0.0


# These answer only when their audio ends (or a digit interrupts it): their time is the caller's, not ours.
MEDIA_AGI_COMMANDS = frozenset(
    {"STREAM FILE", "CONTROL STREAM FILE", "GET DATA", "GET OPTION", "RECORD FILE", "WAIT FOR DIGIT", "EXEC"}
)


class _LatencyCollector(Collector):
    """Exports recorders as summaries; ``labelled`` ones as one series per label value."""

    def __init__(
        self,
        recorders: dict[str, tuple[str, LatencyRecorder]],
        labelled: dict[str, tuple[str, str, dict[str, LatencyRecorder]]],
    ) -> None:
        self._recorders = recorders
        self._labelled = labelled

    def collect(self) -> Iterator[Metric]:
        for name, (doc, recorder) in self._recorders.items():
            family = SummaryMetricFamily(name, doc, labels=["quantile"])
            _add_summary(family, name, {}, recorder)
            yield family
        for name, (doc, label, recorders) in self._labelled.items():
            family = SummaryMetricFamily(name, doc, labels=[label, "quantile"])
            for value, recorder in sorted(recorders.items()):
                _add_summary(family, name, {label: value}, recorder)
            yield family


def _add_summary(family: SummaryMetricFamily, name: str, labels: dict[str, str], recorder: LatencyRecorder) -> None:
    for q in (0.5, 0.9, 0.99):
        value = recorder.quantile(q)
        if value is not None:
            family.add_sample(name, {**labels, "quantile": str(q)}, value)
    family.add_sample(f"{name}_count", labels, recorder.count)
    family.add_sample(f"{name}_sum", labels, recorder.total)


class Metrics:
    """One instance per process, passed in by the composition root (no module-level globals)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.agi_command = LatencyRecorder()  # commands that play no media: our and Asterisk's responsiveness
        self.agi_by_command: dict[str, LatencyRecorder] = defaultdict(LatencyRecorder)
        self.screen_pop = LatencyRecorder()
        self.registry.register(
            _LatencyCollector(
                {
                    "pasokh_agi_command_seconds": ("AGI round trip of commands that play no media", self.agi_command),
                    "pasokh_screen_pop_seconds": ("AMI AgentConnect to websocket send", self.screen_pop),
                },
                {
                    "pasokh_agi_command_by_name_seconds": (
                        "AGI round trip per command (media ones last as long as their audio)", "command",
                        self.agi_by_command,
                    ),
                },
            )
        )
        self.calls_started = Counter("pasokh_calls_started", "Citizen calls seen", ["line"], registry=self.registry)
        self.calls_refused_busy = Counter(
            "pasokh_calls_refused_busy", "Calls refused because every line was taken", registry=self.registry
        )
        self.agi_sessions = Counter("pasokh_agi_sessions", "FastAGI sessions", ["route", "result"],
                                    registry=self.registry)
        self.ami_events = Counter("pasokh_ami_events", "AMI events handled", registry=self.registry)
        self.ami_connected = Gauge("pasokh_ami_connected", "1 while logged in to AMI", registry=self.registry)
        self.tickets_created = Counter("pasokh_tickets_created", "Tickets created", ["line"], registry=self.registry)
        self.sms_attempts = Counter("pasokh_sms_attempts", "SMS send attempts by result (sent, retry, failed, expired)",
                                    ["result"], registry=self.registry)
        self.websocket_clients = Gauge("pasokh_websocket_clients", "Open console websockets",
                                       registry=self.registry)

    def observe_agi_command(self, name: str, seconds: float) -> None:
        self.agi_by_command[name].observe(seconds)
        if name not in MEDIA_AGI_COMMANDS:
            self.agi_command.observe(seconds)

    def reset_latencies(self) -> None:
        self.agi_command.reset()
        self.agi_by_command.clear()
        self.screen_pop.reset()
