"""Similar-complaint clusters over the Persian text, labelled by their top terms, with an "emerging" flag (ADR 0075)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from callcenter.complaints.access import visible_to
from callcenter.platform.persian import normalize_text
from db.models import Complaint, User

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

# Average-linkage cosine distance at which two groups stop merging: the middle of the plateau measured on the
# fixture (tests/fixtures/complaints_clusters.json; ADR 0075 has the curve).
DISTANCE_THRESHOLD = 0.92
# Word features weigh as much as character n-grams once each block is L2-normalised.
WORD_WEIGHT = 1.0
LABEL_TERMS = 4
MIN_CLUSTER_SIZE = 2          # one complaint is not a cluster of similar complaints
HISTORY_WINDOWS = 6           # the usual rate is the mean count over this many windows before the recent one
# Emerging: the recent count is at least this many complaints, this many times the usual rate, and this unlikely
# (Poisson upper tail) if the cluster kept its usual rate.
EMERGING_MIN_COUNT = 3
EMERGING_FACTOR = 2.0
EMERGING_P_VALUE = 0.01


@dataclass(frozen=True)
class ClusterMember:
    complaint_id: int
    tracking_code: str
    created_at: datetime
    description: str


@dataclass(frozen=True)
class Cluster:
    label_terms: tuple[str, ...]
    members: tuple[ClusterMember, ...]
    recent_count: int     # complaints filed in the recent window
    usual_rate: float     # mean complaints per window over the history windows before it
    emerging: bool

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def complaint_ids(self) -> tuple[int, ...]:
        return tuple(member.complaint_id for member in self.members)

    @property
    def tracking_codes(self) -> tuple[str, ...]:
        return tuple(member.tracking_code for member in self.members)


@dataclass(frozen=True)
class TextCluster:
    """A group of texts by their positions in the input, with its label terms."""

    indices: tuple[int, ...]
    label_terms: tuple[str, ...]


@cache
def _hazm() -> tuple[Any, Any, Any, frozenset[str]]:
    """hazm's normaliser, word tokeniser, stemmer and stop words, made once (``hazm.word_tokenize`` would build a
    tokeniser per call); hazm is imported here because importing it takes seconds."""
    import hazm  # lazy on purpose, see the docstring

    normalizer = hazm.Normalizer()
    stop_words = frozenset(normalizer.normalize(word) for word in hazm.stopwords_list())
    return normalizer, hazm.WordTokenizer(), hazm.Stemmer(), stop_words


@lru_cache(maxsize=20_000)
def tokens(text: str) -> tuple[tuple[str, str], ...]:
    """The content words of a complaint as (stem, surface form): our stored normal form, then hazm's (spacing,
    ZWNJ, affixes), without stop words, digits and punctuation."""
    normalizer, tokenizer, stemmer, stop_words = _hazm()
    normalised = normalizer.normalize(normalize_text(text))
    words = [word for word in tokenizer.tokenize(normalised)
             if len(word) > 1 and word not in stop_words and any(char.isalpha() for char in word)]
    return tuple((stemmer.stem(word) or word, word) for word in words)


def _features(stemmed: Sequence[str]) -> tuple[csr_matrix, Any]:
    """Character n-grams within words (2-5, robust to typos and affixes) next to whole stems, each TF-IDF block
    L2-normalised, then the rows; terms in more than half the texts (greetings, «لطفا رسیدگی کنید») are dropped."""
    from scipy.sparse import hstack  # scikit-learn and scipy load with the first clustering
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    min_df = 2 if len(stemmed) >= 20 else 1
    common: dict[str, Any] = {"min_df": min_df, "max_df": 0.5 if len(stemmed) >= 20 else 1.0, "sublinear_tf": True}
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), **common)
    words = TfidfVectorizer(analyzer=str.split, **common)
    char_matrix = normalize(chars.fit_transform(stemmed))
    word_matrix = normalize(words.fit_transform(stemmed)) * WORD_WEIGHT
    return normalize(hstack([char_matrix, word_matrix]).tocsr()), words


def _labels(matrix: csr_matrix) -> list[int]:
    """Average-linkage clustering on cosine distances cut at ``DISTANCE_THRESHOLD``. The distances come from one
    sparse float32 product of the (L2-normalised) rows: much faster than a dense pairwise pass over n-grams."""
    import numpy as np
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    if matrix.shape[0] < 2:
        return [0] * matrix.shape[0]
    rows = matrix.astype(np.float32)
    distances = np.clip(1.0 - (rows @ rows.T).toarray(), 0.0, 2.0).astype(np.float64)
    np.fill_diagonal(distances, 0.0)
    tree = linkage(squareform(distances, checks=False), method="average")
    return [int(label) for label in fcluster(tree, DISTANCE_THRESHOLD, criterion="distance")]


def _label_terms(word_vectorizer: Any, word_rows: csr_matrix, surfaces: dict[str, Counter[str]]) -> tuple[str, ...]:
    """The stems with the highest mean TF-IDF in the cluster, each shown as its most common surface form; a form
    that only adds a suffix to one already chosen (درخت‌ها after درخت) is skipped."""
    means = word_rows.mean(axis=0).A1
    stems = word_vectorizer.get_feature_names_out()
    chosen: list[str] = []
    for index in sorted(range(len(means)), key=lambda index: (-means[index], stems[index])):
        if len(chosen) == LABEL_TERMS or means[index] <= 0:
            break
        surface = surfaces[stems[index]].most_common(1)[0][0]
        if not any(surface.startswith(term) or term.startswith(surface) for term in chosen):
            chosen.append(surface)
    return tuple(chosen)


def cluster_texts(texts: Sequence[str]) -> list[TextCluster]:
    """Group the texts (deterministic: no random step); every text is in exactly one group, singletons included.
    Groups come largest first, then by their first text."""
    if not texts:
        return []
    tokenised = [tokens(text) for text in texts]
    surfaces: dict[str, Counter[str]] = {}
    for words in tokenised:
        for stem, surface in words:
            surfaces.setdefault(stem, Counter())[surface] += 1
    stemmed = [" ".join(stem for stem, _ in words) or "_" for words in tokenised]
    matrix, word_vectorizer = _features(stemmed)
    word_matrix = word_vectorizer.transform(stemmed)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(_labels(matrix)):
        groups.setdefault(label, []).append(index)
    ordered = sorted(groups.values(), key=lambda members: (-len(members), members[0]))
    return [TextCluster(tuple(members), _label_terms(word_vectorizer, word_matrix[members], surfaces))
            for members in ordered]


def poisson_upper_tail(count: int, rate: float) -> float:
    """P(X >= count) for X ~ Poisson(rate)."""
    if count <= 0:
        return 1.0
    term = math.exp(-rate)
    below = term
    for k in range(1, count):
        term *= rate / k
        below += term
    return max(0.0, 1.0 - below)


def is_emerging(recent_count: int, usual_rate: float, history_windows: int = HISTORY_WINDOWS) -> bool:
    """Growing faster than usual: enough complaints, well above the usual rate, and unlikely at that rate. A
    cluster with no history is tested as if it had one complaint over the history (a rate of 1/windows)."""
    rate = max(usual_rate, 1 / history_windows)
    return (recent_count >= EMERGING_MIN_COUNT and recent_count >= EMERGING_FACTOR * rate
            and poisson_upper_tail(recent_count, rate) < EMERGING_P_VALUE)


def similar_complaint_clusters(session: Session, user: User, *, now: datetime, window_days: int = 14,
                               history_windows: int = HISTORY_WINDOWS) -> list[Cluster]:
    """The clusters of the complaints ``user`` may see, filed in the recent window or the history windows before
    it; emerging clusters first, then by recent count and size. Clusters of one complaint are left out."""
    window = timedelta(days=window_days)
    recent_start = now - window
    horizon = recent_start - history_windows * window
    query = (select(col(Complaint.id), col(Complaint.tracking_code), col(Complaint.created_at),
                    col(Complaint.description))
             .where(visible_to(session, user), col(Complaint.created_at) >= horizon, col(Complaint.created_at) < now)
             .order_by(col(Complaint.id)))
    members = [ClusterMember(complaint_id, code, created_at, description)
               for complaint_id, code, created_at, description in session.exec(query).all()
               if complaint_id is not None]
    clusters: list[Cluster] = []
    for group in cluster_texts([member.description for member in members]):
        if len(group.indices) < MIN_CLUSTER_SIZE:
            continue
        chosen = tuple(members[index] for index in group.indices)
        recent = sum(1 for member in chosen if member.created_at >= recent_start)
        usual = (len(chosen) - recent) / history_windows
        clusters.append(Cluster(group.label_terms, chosen, recent, usual,
                                is_emerging(recent, usual, history_windows)))
    return sorted(clusters, key=lambda cluster: (not cluster.emerging, -cluster.recent_count, -cluster.size))
