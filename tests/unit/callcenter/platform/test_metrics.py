"""Gauges read at scrape time: each scrape asks for the state anew, and one that fails costs only its own series."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from callcenter.platform.metrics import GaugeSamples, Metrics


def scraped(metrics: Metrics) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = generate_latest(metrics.registry).decode()
    return {family.name: [(sample.labels, sample.value) for sample in family.samples]
            for family in text_string_to_metric_families(text)}


def test_given_a_gauge_callback_when_scraped_twice_then_each_scrape_reads_the_state_of_that_moment() -> None:
    metrics, queue = Metrics(), {"line137": 2}
    metrics.add_gauge("pasokh_test_waiting", "callers waiting", lambda: {(q,): float(n) for q, n in queue.items()},
                      labels=("queue",))
    assert scraped(metrics)["pasokh_test_waiting"] == [({"queue": "line137"}, 2.0)]
    queue["line137"] = 0
    queue["line1888"] = 5
    assert scraped(metrics)["pasokh_test_waiting"] == [({"queue": "line137"}, 0.0), ({"queue": "line1888"}, 5.0)]


def test_given_a_failing_callback_when_scraped_then_its_series_is_left_out_and_the_others_are_exported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()

    def broken() -> GaugeSamples:
        raise OSError("database unreachable")

    metrics.add_gauge("pasokh_test_broken", "reads the database", broken)
    metrics.add_single_gauge("pasokh_test_tasks", "tasks", lambda: 7)
    metrics.add_single_gauge("pasokh_test_nothing", "nothing to measure yet", lambda: None)

    families = scraped(metrics)

    assert "pasokh_test_broken" not in families
    assert families["pasokh_test_tasks"] == [({}, 7.0)]
    assert families["pasokh_test_nothing"] == []
    assert "pasokh_test_broken could not be read: OSError: database unreachable" in caplog.text


def test_given_a_gauge_name_taken_when_adding_it_again_then_value_error_is_raised() -> None:
    metrics = Metrics()
    metrics.add_single_gauge("pasokh_test_tasks", "tasks", lambda: 1)
    with pytest.raises(ValueError):
        metrics.add_single_gauge("pasokh_test_tasks", "tasks", lambda: 2)
