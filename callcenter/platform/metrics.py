"""Prometheus metrics, plus latency recorders whose quantiles the benchmark and /metrics both read."""

from __future__ import annotations

import logging
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

# A gauge read at scrape time: label values (in the order of its labels; () when it has none) → value.
GaugeSamples = Mapping[tuple[str, ...], float]


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


@dataclass(frozen=True)
class _GaugeCallback:
    name: str
    documentation: str
    labels: tuple[str, ...]
    read: Callable[[], GaugeSamples]


class _CallbackCollector(Collector):
    """Gauges of state computed when Prometheus scrapes, not kept up to date by every change. The scrape runs
    in a worker thread, so a callback reads in-memory state with one atomic copy (``list(d.values())``) and never
    awaits; a failing one costs its own series, not the whole scrape."""

    def __init__(self) -> None:
        self._gauges: dict[str, _GaugeCallback] = {}

    def add(self, gauge: _GaugeCallback) -> None:
        if gauge.name in self._gauges:
            raise ValueError(f"a gauge named {gauge.name!r} is already registered")
        self._gauges[gauge.name] = gauge

    def collect(self) -> Iterator[Metric]:
        for gauge in list(self._gauges.values()):
            try:
                samples = gauge.read()
            except Exception as exc:  # e.g. the database away: the health check reports that, not a traceback
                log.warning("metric %s could not be read: %s: %s", gauge.name, type(exc).__name__, exc)
                continue
            family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=list(gauge.labels))
            for values, value in sorted(samples.items()):
                family.add_metric(list(values), value)
            yield family


class Metrics:
    """One instance per process, passed in by the composition root (no module-level globals)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._callbacks = _CallbackCollector()
        self.registry.register(self._callbacks)
        self.agi_command = LatencyRecorder()  # commands that play no media: our and Asterisk's responsiveness
        self.agi_by_command: dict[str, LatencyRecorder] = defaultdict(LatencyRecorder)
        self.screen_pop = LatencyRecorder()
        self.event_delivery = LatencyRecorder()  # every console's copy of every event: the fan-out's lag
        self.registry.register(
            _LatencyCollector(
                {
                    "pasokh_agi_command_seconds": ("AGI round trip of commands that play no media", self.agi_command),
                    "pasokh_screen_pop_seconds": ("AMI AgentConnect to websocket send", self.screen_pop),
                    "pasokh_event_delivery_seconds": ("Event published to websocket send, each console's copy",
                                                      self.event_delivery),
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
        self.tickets_created = Counter("pasokh_tickets_created", "Tickets created", ["line"], registry=self.registry)
        self.sms_attempts = Counter("pasokh_sms_attempts", "SMS send attempts by result (sent, retry, failed, expired)",
                                    ["result"], registry=self.registry)
        # Asterisk restarted by `python -m callcenter run`'s supervisor (under systemd: the unit's NRestarts).
        self.asterisk_restarts = Counter("pasokh_asterisk_restarts", "Asterisk restarted after it exited",
                                         registry=self.registry)
        self.ami_resync_seconds = Histogram(
            "pasokh_ami_resync_seconds", "From AMI FullyBooted to calls and operators resynced from Asterisk",
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0), registry=self.registry)
        self.websocket_clients = Gauge("pasokh_websocket_clients", "Open console websockets",
                                       registry=self.registry)

    def add_gauge(self, name: str, documentation: str, read: Callable[[], GaugeSamples],
                  labels: Sequence[str] = ()) -> None:
        """A gauge whose samples ``read`` returns at each scrape (label values → value); names in ADR 0081."""
        self._callbacks.add(_GaugeCallback(name, documentation, tuple(labels), read))

    def add_single_gauge(self, name: str, documentation: str, read: Callable[[], float | None]) -> None:
        """A gauge without labels; ``read`` returning None leaves it out of this scrape (nothing to measure)."""
        def samples() -> GaugeSamples:
            value = read()
            return {} if value is None else {(): value}
        self.add_gauge(name, documentation, samples)

    def observe_agi_command(self, name: str, seconds: float) -> None:
        self.agi_by_command[name].observe(seconds)
        if name not in MEDIA_AGI_COMMANDS:
            self.agi_command.observe(seconds)

    def reset_latencies(self) -> None:
        self.agi_command.reset()
        self.agi_by_command.clear()
        self.screen_pop.reset()
        self.event_delivery.reset()
