"""The PromQL reading of tests/support/monitoring.py finds the series an expression selects, and nothing else."""

from __future__ import annotations

import pytest

from tests.support.monitoring import exposed_names, metric_names


@pytest.mark.parametrize(("expression", "names"), [
    ('up{job=~"pasokh|pasokh-telephony"} == 0', {"up"}),
    ("max by (queue) (pasokh_queue_oldest_wait_seconds) > 180", {"pasokh_queue_oldest_wait_seconds"}),
    ('sum by (route) (increase(pasokh_agi_sessions_total{result=~"error|protocol-error"}[10m])) > 0',
     {"pasokh_agi_sessions_total"}),
    ("pasokh_sms_outbox_queued > 20 and deriv(pasokh_sms_outbox_queued[15m]) > 0", {"pasokh_sms_outbox_queued"}),
    ("min(pasokh_recordings_disk_free_bytes / pasokh_recordings_disk_size_bytes) < 0.10 offset 5m",
     {"pasokh_recordings_disk_free_bytes", "pasokh_recordings_disk_size_bytes"}),
    ("sum(rate(pasokh_calls_started_total[$__rate_interval])) * 60 + 1e3",
     {"pasokh_calls_started_total"}),
    ('a_metric * on (instance) group_left (version) b_info{x="rate(c)"}', {"a_metric", "b_info"}),
])
def test_given_an_expression_when_read_then_its_metric_names_are_found(expression: str, names: set[str]) -> None:
    assert metric_names(expression) == names


def test_given_a_counter_without_children_when_exposed_then_its_sample_names_are_offered() -> None:
    text = ("# HELP pasokh_x_total Things\n# TYPE pasokh_x_total counter\n"
            "# HELP pasokh_y Level\n# TYPE pasokh_y gauge\npasokh_y 3.0\n")
    assert {"pasokh_x_total", "pasokh_y"} <= exposed_names(text)
    assert "pasokh_z" not in exposed_names(text)
