"""Affinity between proposals and reviewers, across Chinese and English (docs/affinity.md).

Method. Each side becomes one bag of terms in both languages:

* proposal: keywords (×3), title (×2) and abstract (×1), Chinese and English fields alike;
* reviewer: expertise keywords, Chinese and English (×3 each, they are keywords).

Chinese text (CJK runs) gives character bigrams (and the character itself for one-character
runs); Latin text gives lower-cased words with a light plural stemming and a short stop list.
Keywords are also *bridged* across languages: wherever a proposal or a reviewer lists Chinese
and English keywords of equal number, the i-th of each is taken as a translation of the other,
and every keyword then brings the terms of its known translations. So a reviewer who wrote
only "quantum materials" meets a proposal keyworded only 量子材料 once anyone in the call
(a proposal or a reviewer) has listed the two side by side.

The bags are weighted by TF-IDF (sublinear tf, idf fitted on both sides together, l2 norm);
affinity is the cosine, in [0, 1]. Matrices stay sparse; for a large call the candidates
(the best K reviewers of each kind per proposal) come from a chunked product, never from a
dense proposals × reviewers matrix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import sparse

CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
LATIN_WORD = re.compile(r"[a-z0-9][a-z0-9\-]*[a-z0-9]|[a-z]")
STOP_WORDS = frozenset(
    """a an and are as at be by for from has have in into is it its of on or our over such
    than that the their these this those to under using via we which with within without
    study studies research based new novel approach approaches method methods towards toward
    investigation analysis application applications development""".split()
)
FIELD_WEIGHTS = {"keywords": 3, "title": 2, "abstract": 1, "expertise": 3}


def _stem(word):
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@lru_cache(maxsize=200_000)
def _terms(text):
    out = []
    for run in CJK_RUN.findall(text):
        if len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    for word in LATIN_WORD.findall(text.casefold()):
        if word not in STOP_WORDS and not word.isdigit():
            out.append(_stem(word))
    return tuple(out)


def terms(text):
    """Terms of one text: CJK character bigrams and Latin word stems."""
    return list(_terms(text or ""))


def _keyword_list(value):
    if not value:
        return []
    if isinstance(value, str):
        return [k for k in re.split(r"[;,，；、\n]+", value) if k.strip()]
    return [str(k) for k in value if str(k).strip()]


def _key(keyword):
    return keyword.strip().casefold()


@dataclass
class Document:
    """One side's text: lists of keywords (any language) and free texts with their weight."""

    keywords: list
    texts: list  # [(text, weight)]


def proposal_document(
    title="", abstract="", keywords=(), title_en="", abstract_en="", keywords_en=()
):
    return Document(
        keywords=_keyword_list(keywords) + _keyword_list(keywords_en),
        texts=[
            (title, FIELD_WEIGHTS["title"]),
            (title_en, FIELD_WEIGHTS["title"]),
            (abstract, FIELD_WEIGHTS["abstract"]),
            (abstract_en, FIELD_WEIGHTS["abstract"]),
        ],
    )


def reviewer_document(expertise=(), expertise_en=()):
    return Document(keywords=_keyword_list(expertise) + _keyword_list(expertise_en), texts=[])


def bridge_pairs(pairs_of_lists):
    """Translation table from parallel keyword lists ``[(zh list, en list), ...]``.

    Lists of equal, non-zero length are read as aligned translations.
    """
    table = {}
    for zh, en in pairs_of_lists:
        zh, en = _keyword_list(zh), _keyword_list(en)
        if not zh or len(zh) != len(en):
            continue
        for a, b in zip(zh, en, strict=True):
            if _key(a) == _key(b):
                continue
            table.setdefault(_key(a), set()).add(b)
            table.setdefault(_key(b), set()).add(a)
    return table


def document_terms(doc: Document, bridge=None):
    out = []
    for keyword in doc.keywords:
        kw_terms = terms(keyword)
        for translation in (bridge or {}).get(_key(keyword), ()):
            kw_terms = kw_terms + terms(translation)
        out.extend(kw_terms * FIELD_WEIGHTS["keywords"])
    for text, weight in doc.texts:
        if text:
            out.extend(terms(text) * weight)
    return out


class AffinityModel:
    """TF-IDF vectors of a call's proposals and reviewers; cosine affinity between them."""

    def __init__(self, proposals, reviewers, *, bridge=None, max_df=None):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.bridge = bridge or {}
        n_docs = len(proposals) + len(reviewers)
        if max_df is None:
            # Terms in more than half of a large call's texts say nothing about fit and make
            # the product dense; small calls keep every term.
            max_df = 0.5 if n_docs >= 2000 else 1.0
        self.vectorizer = TfidfVectorizer(
            analyzer=lambda doc: document_terms(doc, self.bridge),
            sublinear_tf=True,
            max_df=max_df,
            dtype=np.float32,
        )
        docs = list(proposals) + list(reviewers)
        if not docs:
            self.P = sparse.csr_matrix((0, 0), dtype=np.float32)
            self.R = sparse.csr_matrix((0, 0), dtype=np.float32)
            return
        try:
            matrix = self.vectorizer.fit_transform(docs).tocsr()
        except ValueError:  # no terms at all
            matrix = sparse.csr_matrix((len(docs), 1), dtype=np.float32)
        self.P = matrix[: len(proposals)]
        self.R = matrix[len(proposals) :]

    def pair(self, i, j):
        """Affinity of proposal ``i`` and reviewer ``j``."""
        return float(self.P[i].multiply(self.R[j]).sum())

    def dense(self):
        """The full proposals × reviewers matrix: small calls and tests only."""
        return np.asarray((self.P @ self.R.T).todense(), dtype=np.float64)


@dataclass
class Candidates:
    """The best reviewers per proposal and kind, plus what was left out.

    ``app``, ``rev``, ``weight``: candidate pairs (eligible only). ``tau[kind][i]``: an upper
    bound on the weight of every eligible pair of proposal ``i`` with a reviewer of ``kind``
    (0 domestic, 1 international) that is *not* a candidate; −1 when none is left out.
    """

    app: np.ndarray
    rev: np.ndarray
    weight: np.ndarray
    tau: np.ndarray  # shape (2, n_apps)


def _excluded_in(exclude_keys, lo, hi, m):
    start, stop = np.searchsorted(exclude_keys, [lo * m, hi * m])
    keys = exclude_keys[start:stop]
    return keys // m - lo, keys % m


def scored_rows(P, R, rows, *, credit, exclude_keys, n_reviewers):
    """Dense credit-weighted affinity of proposals ``rows`` × all reviewers, −1 where the
    pair is excluded (conflict, closed before, already assigned)."""
    m = n_reviewers
    block = np.asarray((P[rows] @ R.T).todense(), dtype=np.float32)
    block *= credit[None, :]
    if len(exclude_keys) and len(rows):
        rows = np.asarray(rows, dtype=np.int64)
        keys_lo = rows * m
        # Excluded keys per row: search each row's key range.
        starts = np.searchsorted(exclude_keys, keys_lo)
        stops = np.searchsorted(exclude_keys, keys_lo + m)
        counts = stops - starts
        if counts.sum():
            row_pos = np.repeat(np.arange(len(rows)), counts)
            offs = np.repeat(starts - (np.cumsum(counts) - counts), counts)
            cols = exclude_keys[offs + np.arange(counts.sum())] % m
            block[row_pos, cols] = -1.0
    return block


def top_candidates(
    P,
    R,
    *,
    credit,
    international,
    exclude_keys,
    available=None,
    k_domestic=20,
    k_international=12,
    chunk=1000,
    progress=None,
):
    """Per proposal the ``k`` best eligible reviewers of each kind, in chunks of rows.

    ``credit`` weights each reviewer's column; ``exclude_keys`` (sorted keys ``i × M + j``)
    and reviewers with ``available`` False never become candidates. Works on the sparse
    product (cost in its non-zeros, not in proposals × reviewers); when a proposal has
    fewer than ``k`` eligible reviewers of a kind with any textual overlap, eligible ones
    with zero affinity fill the list (spread by a rotating start), so every proposal can
    be staffed.
    """
    n, m = P.shape[0], R.shape[0]
    credit = np.asarray(credit, dtype=np.float64)
    international = np.asarray(international, dtype=bool)
    exclude_keys = np.asarray(exclude_keys, dtype=np.int64)
    if available is None:
        available = np.ones(m, dtype=bool)
    available = np.asarray(available, dtype=bool)
    ks = [k_domestic, k_international]
    kind_cols = [
        np.flatnonzero(~international & available),
        np.flatnonzero(international & available),
    ]
    apps, revs, weights = [], [], []
    tau = np.full((2, n), -1.0, dtype=np.float64)
    if m == 0 or n == 0:
        empty = np.empty(0, dtype=np.int64)
        return Candidates(empty, empty, np.empty(0), tau)
    RT = R.T.tocsc()
    rotation = 0
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        block = (P[lo:hi] @ RT).tocsr()
        rows = np.repeat(np.arange(lo, hi), np.diff(block.indptr))
        cols = block.indices.astype(np.int64)
        vals = block.data.astype(np.float64) * credit[cols]
        keep = available[cols] & (vals > 0)
        if len(exclude_keys):
            keys = rows * m + cols
            pos = np.minimum(np.searchsorted(exclude_keys, keys), len(exclude_keys) - 1)
            keep &= exclude_keys[pos] != keys
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
        ex_rows, ex_cols = _excluded_in(exclude_keys, lo, hi, m)
        ex_ok = available[ex_cols]
        for kind, k in enumerate(ks):
            if k <= 0 or not len(kind_cols[kind]):
                continue
            sel = international[cols] == bool(kind)
            r, c, v = rows[sel], cols[sel], vals[sel]
            order = np.lexsort((-v, r))
            r, c, v = r[order], c[order], v[order]
            start = np.searchsorted(r, np.arange(lo, hi))
            count = np.diff(np.r_[start, len(r)])
            rank = np.arange(len(r)) - start[r - lo]
            top = rank < k
            apps.append(r[top])
            revs.append(c[top])
            weights.append(v[top])
            first_out = rank == k
            tau[kind, r[first_out]] = v[first_out]
            # Eligible reviewers of this kind with no overlap at all (affinity 0).
            ex_kind = ex_ok & (international[ex_cols] == bool(kind))
            excluded = np.bincount(ex_rows[ex_kind], minlength=hi - lo)
            zeros = len(kind_cols[kind]) - excluded - count
            short = np.flatnonzero(count <= k)
            ex_bounds = np.searchsorted(ex_rows, np.arange(hi - lo + 1))
            for i in short:
                row = lo + int(i)
                need = int(max(0, min(k - count[i], zeros[i])))
                if need > 0:
                    taken = set(c[start[i] : start[i] + count[i]].tolist())
                    taken.update(ex_cols[ex_bounds[i] : ex_bounds[i + 1]].tolist())
                    filler = _filler(kind_cols[kind], taken, need, rotation)
                    rotation += need
                    apps.append(np.full(len(filler), row, dtype=np.int64))
                    revs.append(np.asarray(filler, dtype=np.int64))
                    weights.append(np.zeros(len(filler)))
                # Left out now: only reviewers with no overlap at all, if any remain.
                tau[kind, row] = 0.0 if zeros[i] > need else -1.0
        if progress is not None:
            progress(hi, n)
    if apps:
        return Candidates(
            np.concatenate(apps).astype(np.int64),
            np.concatenate(revs).astype(np.int64),
            np.concatenate(weights),
            tau,
        )
    empty = np.empty(0, dtype=np.int64)
    return Candidates(empty, empty, np.empty(0), tau)


def _filler(cols, taken, need, rotation):
    """``need`` of ``cols`` not in ``taken``, scanning from a rotating start."""
    out = []
    size = len(cols)
    for step in range(size):
        j = int(cols[(rotation + step) % size])
        if j not in taken:
            out.append(j)
            if len(out) == need:
                break
    return out


# --- the database layer ----------------------------------------------------------------------


def application_document(values):
    """A proposal's document from a ``values()`` row (or an Application)."""
    get = values.get if isinstance(values, dict) else lambda k, d="": getattr(values, k, d)
    return proposal_document(
        get("title", ""),
        get("abstract", ""),
        get("keywords", ()),
        get("title_en", ""),
        get("abstract_en", ""),
        get("keywords_en", ()),
    )


def call_bridge(app_rows, reviewer_rows):
    """The keyword translation table a call's own texts teach."""
    return bridge_pairs(
        [(r.get("keywords"), r.get("keywords_en")) for r in app_rows]
        + [(r.get("expertise"), r.get("expertise_en")) for r in reviewer_rows]
    )


def model_for(app_rows, reviewer_rows):
    """An :class:`AffinityModel` for ``values()`` rows of proposals and reviewers (the latter
    with ``expertise`` and ``expertise_en``)."""
    return AffinityModel(
        [application_document(r) for r in app_rows],
        [reviewer_document(r.get("expertise"), r.get("expertise_en")) for r in reviewer_rows],
        bridge=call_bridge(app_rows, reviewer_rows),
    )
