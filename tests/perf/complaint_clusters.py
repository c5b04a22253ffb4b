"""The similar-complaint clusters' quality and speed on the fixture, beside a plain word-TF-IDF + k-means baseline.

No server and no Asterisk: the clustering is a pure function of the texts. Both methods run side by side on the same
texts and machine; each time is the median of a few runs with hazm's token cache emptied first, so it includes
tokenising (hazm's import is excluded: it happens once per process, see ADR 0075).
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from callcenter.complaints.clusters import DISTANCE_THRESHOLD, MIN_CLUSTER_SIZE, TextCluster, cluster_texts, tokens
from callcenter.platform.persian import normalize_text
from tests.support.complaint_clusters import LabelledComplaint, adjusted_rand_index, labelled_complaints

HEADING = "## Similar-complaint clusters"
RUNS = 5
SCALE_COPIES = 13  # the fixture 13 times over: about 3,000 complaints, the page's "few thousand"
BASELINE_SEED = 0

INTRO = f"""{HEADING}

`python -m tests.perf.bench --parts clusters` (no root, no Asterisk) clusters the fixture
`tests/fixtures/complaints_clusters.json` (Persian complaints in known groups, ADR 0075) with
`callcenter.complaints.clusters.cluster_texts` (hazm tokens, TF-IDF of character 2-5-grams and stems,
average-linkage cosine clusters cut at distance {DISTANCE_THRESHOLD}) and, side by side, a baseline: word TF-IDF of
the stored text (scikit-learn's default tokeniser) and k-means with k set to the true number of groups (an oracle
the real method does not get; seed {BASELINE_SEED}, 10 starts). Quality is the adjusted Rand index (ARI) against
the known groups (1 = the groups exactly, 0 = chance). Times are the median of {RUNS} runs, tokenising included
(the token cache emptied before each), hazm's one-off import excluded; the scale row runs both on the fixture
{SCALE_COPIES} times over (repeated texts: a bound on the arithmetic, not on quality).
"""


@dataclass(frozen=True)
class MethodResult:
    ari: float
    clusters: int
    seconds: float
    scale_seconds: float


@dataclass(frozen=True)
class ClustersOutcome:
    complaints: int
    groups: int
    ours: MethodResult
    baseline: MethodResult
    shown: int  # clusters of at least MIN_CLUSTER_SIZE, as the page shows them


def baseline_clusters(texts: Sequence[str], k: int) -> list[TextCluster]:
    from sklearn.cluster import KMeans  # loaded with the bench part, not at import
    from sklearn.feature_extraction.text import TfidfVectorizer

    matrix = TfidfVectorizer().fit_transform([normalize_text(text) for text in texts])
    labels = KMeans(n_clusters=k, n_init=10, random_state=BASELINE_SEED).fit_predict(matrix)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(int(label), []).append(index)
    return [TextCluster(tuple(members), ()) for members in groups.values()]


def median_seconds(work: Callable[[], object]) -> float:
    samples = []
    for _ in range(RUNS):
        tokens.cache_clear()
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def measure(method: Callable[[Sequence[str]], list[TextCluster]],
            complaints: Sequence[LabelledComplaint]) -> tuple[MethodResult, list[TextCluster]]:
    texts = [c.text for c in complaints]
    clusters = method(texts)
    seconds = median_seconds(lambda: method(texts))
    scale_seconds = median_seconds(lambda: method(texts * SCALE_COPIES))
    return MethodResult(adjusted_rand_index(complaints, clusters), len(clusters), seconds, scale_seconds), clusters


def run_clusters() -> ClustersOutcome:
    complaints = labelled_complaints()
    groups = len({c.group for c in complaints})
    tokens("گرم کردن")  # hazm's import and first use, outside the timings
    ours, clusters = measure(cluster_texts, complaints)
    baseline, _ = measure(lambda texts: baseline_clusters(texts, groups), complaints)
    shown = sum(1 for cluster in clusters if len(cluster.indices) >= MIN_CLUSTER_SIZE)
    return ClustersOutcome(len(complaints), groups, ours, baseline, shown)


def clusters_section(outcome: ClustersOutcome) -> str:
    ours, base = outcome.ours, outcome.baseline
    machine = f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()} {platform.release()}"
    rows = [
        ("Date (UTC)", datetime.now(UTC).strftime("%Y-%m-%d %H:%M")),
        ("Machine", machine),
        ("Fixture: complaints / known groups", f"{outcome.complaints} / {outcome.groups}"),
        ("ARI, ours / baseline", f"{ours.ari:.3f} / {base.ari:.3f}"),
        ("ARI ours ÷ baseline", f"{ours.ari / base.ari:.2f}×" if base.ari > 0 else "n/a"),
        ("Clusters found, ours (of 2 or more, as shown) / baseline (k given)",
         f"{ours.clusters} ({outcome.shown}) / {base.clusters}"),
        ("Time to cluster the fixture, ours / baseline (median ms)",
         f"{ours.seconds * 1000:.0f} / {base.seconds * 1000:.0f}"),
        ("Time ours ÷ baseline", f"{ours.seconds / base.seconds:.1f}×"),
        (f"Time for {outcome.complaints * SCALE_COPIES:,} complaints, ours / baseline (median ms)",
         f"{ours.scale_seconds * 1000:.0f} / {base.scale_seconds * 1000:.0f}"),
    ]
    lines = ["| Measure | Value |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)]
    return INTRO + "\n" + "\n".join(lines) + "\n"
