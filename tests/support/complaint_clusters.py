"""The similar-complaint clusters' fixture (Persian complaints in known groups) and its quality measure, for the
test and the bench."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from callcenter.complaints.clusters import TextCluster

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "complaints_clusters.json"


@dataclass(frozen=True)
class LabelledComplaint:
    group: str
    text: str


def labelled_complaints() -> list[LabelledComplaint]:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return [LabelledComplaint(item["group"], item["text"]) for item in data["complaints"]]


def labels_of(clusters: Sequence[TextCluster], count: int) -> list[int]:
    """Each text's cluster number, by its position."""
    labels = [-1] * count
    for number, cluster in enumerate(clusters):
        for index in cluster.indices:
            labels[index] = number
    return labels


def adjusted_rand_index(complaints: Sequence[LabelledComplaint], clusters: Sequence[TextCluster]) -> float:
    from sklearn.metrics import adjusted_rand_score  # noqa: PLC0415 — scikit-learn loads with the clustering

    return float(adjusted_rand_score([c.group for c in complaints], labels_of(clusters, len(complaints))))
