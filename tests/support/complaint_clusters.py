"""The similar-complaint clusters' fixture (Persian complaints in known groups) and its quality measure, for the
test and the bench."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from callcenter.complaints.clusters import TextCluster
from callcenter.complaints.tracking_code import new_complaint_code
from db.models import Complaint, ComplaintDesk, ComplaintGround

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
    from sklearn.metrics import adjusted_rand_score  # scikit-learn loads with the clustering, not at import

    return float(adjusted_rand_score([c.group for c in complaints], labels_of(clusters, len(complaints))))


def group_texts(group: str) -> list[str]:
    """The fixture's texts of one known group, in the fixture's order."""
    return [c.text for c in labelled_complaints() if c.group == group]


def add_complaint(session: Session, text: str, created_at: datetime, *, unit_id: int | None,
                  desk: ComplaintDesk = ComplaintDesk.INSPECTION) -> Complaint:
    """A complaint filed at ``created_at`` (flushed; the caller commits)."""
    assert unit_id is not None
    row = Complaint(tracking_code=new_complaint_code(), desk=desk, target_unit_id=unit_id,
                    ground=ComplaintGround.DUTY_FAILURE, description=text, created_at=created_at)
    session.add(row)
    session.flush()
    return row
