"""What the shipped monitoring files ask of the backend: the metric names their PromQL expressions read."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from callcenter.platform.settings import PROJECT_ROOT

ALERT_RULES = PROJECT_ROOT / "docs" / "ops" / "prometheus-alerts.yml"
DASHBOARD = PROJECT_ROOT / "docs" / "ops" / "grafana-dashboard.json"
# Series Prometheus makes itself for every scrape target, not read from any /metrics.
PROMETHEUS_OWN = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
# A whole name (not the start of a longer one) that is not called like a function: rate(...), sum(...).
_NAME = re.compile(r"(?<![\w:.$])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()")
_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan", "Inf", "NaN"})


def metric_names(expression: str) -> set[str]:
    """The metric names in a PromQL expression: strings, label matchers, ranges and label lists taken out first,
    so that only series selectors are left besides functions, operators and numbers."""
    bare = _STRINGS.sub('""', expression)
    bare = _MATCHERS.sub("", bare)
    bare = _RANGES.sub("", bare)
    bare = _LABEL_LISTS.sub("", bare)
    return {name for name in _NAME.findall(bare) if name not in _KEYWORDS}


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERT_RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def dashboard_panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside collapsed rows too."""
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def expressions() -> dict[str, str]:
    """Each PromQL expression of the shipped files, keyed by where it is (for the failure message)."""
    found = {f"alert {rule['alert']}": str(rule["expr"]) for rule in alert_rules()}
    for panel in dashboard_panels(dashboard()):
        for target in panel.get("targets", []):
            found[f"panel {panel['title']!r} {target['refId']}"] = str(target["expr"])
    return found


def used_metric_names() -> dict[str, set[str]]:
    """Metric name → where it is used, for every name the alert rules and the dashboard read from our /metrics."""
    used: dict[str, set[str]] = {}
    for where, expression in expressions().items():
        for name in metric_names(expression) - PROMETHEUS_OWN:
            used.setdefault(name, set()).add(where)
    return used


def exposed_names(text: str) -> set[str]:
    """Sample names a /metrics text offers, including those a declared family would have once it has samples
    (a counter with labels and no child yet, a gauge with nothing to measure yet)."""
    names: set[str] = set()
    suffixes = {"counter": ("_total", "_created"), "summary": ("", "_count", "_sum", "_created"),
                "histogram": ("_bucket", "_count", "_sum", "_created"), "gauge": ("",), "info": ("_info",)}
    for family in text_string_to_metric_families(text):
        names |= {sample.name for sample in family.samples}
        names |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
    return names
