"""Which images to label: spend a small label budget where the code space says it counts.

Before labelling nobody knows the classes, so a balanced random subset (what ``aekit finetune
--labels-per-class`` draws) is not something a user can ask for. What a user can ask is "I can label B
images: which B?". With codes that cluster by class, one well-chosen label per cluster names the whole
cluster. Strategies (:func:`select`):

- ``typical`` (TypiClust, Hacohen, Dekel & Weinshall, ICML 2022): the pool's codes go through the
  clustering of ``aekit cluster`` (UMAP, then a Gaussian mixture or k-means) into as many groups as labels
  will exist (the budget plus those already labelled); from the largest groups holding no labelled item,
  the most typical member is picked: typicality = 1 / mean distance to its ``typical_k`` nearest
  neighbours inside its group (density in the reduced code space);
- ``random``: B items drawn uniformly (the published baseline; classes may be missed at small B);
- ``margin`` (later rounds, active learning): the B items a fine-tuned classifier is least sure about
  (smallest gap between its two highest probabilities).

Every strategy skips near-duplicates of items already picked or labelled (``min_distance`` in the
reduced space; 0 skips exact duplicates only). :func:`suggest_labels` writes ``to_label.csv``
(``file,cluster,typicality,label``: a person fills in the empty ``label`` column), ``to_label_picks.png``
and ``to_label.json``. The CSV goes back to ``aekit finetune --labels`` (:func:`finetune_on_labels`), which
trains on exactly those labels and spreads them over the unlabelled pool (:func:`propagate_by_clusters`,
or self-training).
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.neighbors import NearestNeighbors
from torch import nn
from torch.utils.data import ConcatDataset, Dataset

from aekit.data.base import DataError, DataSplits
from aekit.experiments.cluster import ALGORITHMS, MANIFOLDS, Clustering, cluster_features, montage, reduce

STRATEGIES = ("typical", "random", "margin")
PROPAGATIONS = ("none", "cluster", "self-train")
LABEL_FILE_HELP = "CSV with columns file,label (e.g. the to_label.csv of aekit suggest-labels, filled in)"


# -- selection ---------------------------------------------------------------------------------------------


@dataclass
class Picks:
    """The chosen pool indices in pick order, with each pick's cluster and typicality (NaN where unused)."""

    indices: np.ndarray
    cluster: np.ndarray
    typicality: np.ndarray
    score: np.ndarray  # margin strategy: the classifier's margin (small = unsure); else the typicality
    clustering: Clustering | None = None


def typicality(feats: np.ndarray, k: int = 20) -> np.ndarray:
    """1 / mean Euclidean distance to the ``k`` nearest other rows (TypiClust's density; high = typical)."""
    feats = np.asarray(feats, dtype=np.float32)
    if len(feats) == 1:
        return np.ones(1, dtype=np.float64)
    k = min(k, len(feats) - 1)
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(feats).kneighbors(feats)
    return 1.0 / (dist[:, 1:].mean(axis=1) + 1e-12)


def _far_enough(feats: np.ndarray | None, i: int, chosen: list[int], min_distance: float) -> bool:
    """Not a near-duplicate (within ``min_distance``; exact duplicates with 0) of an item already chosen."""
    if feats is None or not chosen:
        return True
    return bool(np.linalg.norm(feats[chosen] - feats[i], axis=1).min() > min_distance)


def _check(n: int, budget: int, exclude: np.ndarray) -> None:
    if budget < 1:
        raise DataError(f"--budget must be at least 1, not {budget}")
    if budget > n - len(exclude):
        raise DataError(f"--budget {budget} exceeds the {n - len(exclude)} unlabelled images of the pool")


def select_typical(
    feats: np.ndarray,
    budget: int,
    exclude: Sequence[int] | np.ndarray = (),
    seed: int = 0,
    algorithm: str = "gmm",
    typical_k: int = 20,
    min_distance: float = 0.0,
    clustering: Clustering | None = None,
) -> Picks:
    """TypiClust on already reduced features: ``budget + len(exclude)`` clusters, the most typical item of each
    of the ``budget`` largest clusters without a labelled (``exclude``) item (then of the others, largest
    first, when fewer are uncovered). ``clustering``: that clustering, when already made (with that k)."""
    feats = np.asarray(feats, dtype=np.float32)
    exclude = np.unique(np.asarray(exclude, dtype=np.int64))
    _check(len(feats), budget, exclude)
    k = min(budget + len(exclude), len(feats))
    result = clustering if clustering is not None else cluster_features(feats, k, algorithm, "none", seed=seed)[0]
    if result.k != k or len(result.labels) != len(feats):
        raise ValueError(
            f"the clustering given has k={result.k} for {len(result.labels)} rows; {k} for {len(feats)} wanted"
        )
    sizes = np.bincount(result.labels, minlength=k)
    covered = np.zeros(k, dtype=bool)
    covered[result.labels[exclude]] = True
    order = sorted(range(k), key=lambda c: (covered[c], -sizes[c], c))  # uncovered first, largest first
    taken = np.zeros(len(feats), dtype=bool)
    taken[exclude] = True
    chosen: list[int] = []
    picked_from: list[int] = []
    typ = np.full(len(feats), np.nan)
    while len(chosen) < budget:
        before = len(chosen)
        for c in order:
            members = np.flatnonzero((result.labels == c) & ~taken)
            if len(members) == 0:
                continue
            t = typicality(feats[result.labels == c], typical_k)  # density inside the whole cluster
            t = t[np.searchsorted(np.flatnonzero(result.labels == c), members)]
            for j in np.argsort(-t, kind="stable"):
                i = int(members[j])
                if _far_enough(feats, i, [*exclude.tolist(), *chosen], min_distance):
                    chosen.append(i)
                    picked_from.append(c)
                    typ[i] = t[j]
                    taken[i] = True
                    break
            if len(chosen) == budget:
                break
        if len(chosen) == before:
            raise DataError(f"only {len(chosen)} images are further apart than --min-distance {min_distance}; "
                            "lower it or the --budget")  # fmt: skip
    idx = np.asarray(chosen, dtype=np.int64)
    return Picks(idx, np.asarray(picked_from, dtype=np.int64), typ[idx], typ[idx], result)


def _ranked_picks(
    ranking: np.ndarray, budget: int, exclude: np.ndarray, feats: np.ndarray | None, min_distance: float
) -> np.ndarray:
    """The first ``budget`` items of ``ranking`` that are not excluded and not near-duplicates of earlier ones."""
    banned = np.zeros(len(ranking), dtype=bool)
    banned[exclude] = True
    chosen: list[int] = []
    for i in ranking:
        if not banned[i] and _far_enough(feats, int(i), [*exclude.tolist(), *chosen], min_distance):
            chosen.append(int(i))
            if len(chosen) == budget:
                break
    if len(chosen) < budget:
        raise DataError(f"only {len(chosen)} images are further apart than --min-distance {min_distance}; "
                        "lower it or the --budget")  # fmt: skip
    return np.asarray(chosen, dtype=np.int64)


def select_random(
    n: int,
    budget: int,
    exclude: Sequence[int] | np.ndarray = (),
    seed: int = 0,
    feats: np.ndarray | None = None,
    min_distance: float = 0.0,
) -> Picks:
    """``budget`` items drawn uniformly from the ``n`` (the baseline), skipping ``exclude`` and duplicates."""
    exclude = np.unique(np.asarray(exclude, dtype=np.int64))
    _check(n, budget, exclude)
    idx = _ranked_picks(np.random.default_rng(seed).permutation(n), budget, exclude, feats, min_distance)
    nan = np.full(len(idx), np.nan)
    return Picks(idx, np.full(len(idx), -1, dtype=np.int64), nan, nan)


def select_margin(
    probs: np.ndarray,
    budget: int,
    exclude: Sequence[int] | np.ndarray = (),
    feats: np.ndarray | None = None,
    min_distance: float = 0.0,
) -> Picks:
    """The ``budget`` items with the smallest gap between the two highest class probabilities (active
    learning: where the classifier is least sure), skipping ``exclude`` and duplicates."""
    probs = np.asarray(probs, dtype=np.float64)
    exclude = np.unique(np.asarray(exclude, dtype=np.int64))
    _check(len(probs), budget, exclude)
    top = np.sort(probs, axis=1)[:, ::-1]
    margin = top[:, 0] - (top[:, 1] if probs.shape[1] > 1 else 0.0)
    idx = _ranked_picks(np.argsort(margin, kind="stable"), budget, exclude, feats, min_distance)
    return Picks(idx, np.full(len(idx), -1, dtype=np.int64), np.full(len(idx), np.nan), margin[idx])


# -- spreading labels over the pool --------------------------------------------------------------------------


def propagate_by_clusters(
    feats: np.ndarray,
    labeled: Sequence[int] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    seed: int = 0,
    algorithm: str = "gmm",
    clusters: int | None = None,
    clustering: Clustering | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster-label propagation: the pool (reduced features) in ``clusters`` groups (default: one per label
    given, the groups ``typical`` picked from); a group takes the majority label of its labelled members, a
    group without one the label of the labelled item nearest its centre. Returns (label, confidence) per row
    (confidence: the clustering's; the labelled items keep their own label with confidence 1). ``clustering``:
    that clustering when already made (``select_typical``'s, ``Picks.clustering``)."""
    feats = np.asarray(feats, dtype=np.float32)
    labeled = np.asarray(labeled, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labeled) == 0 or len(labeled) != len(labels):
        raise ValueError(f"{len(labeled)} labelled items but {len(labels)} labels")
    result = clustering
    if result is None:
        result = cluster_features(feats, min(clusters or len(labeled), len(feats)), algorithm, "none", seed=seed)[0]
    k = result.k
    out = np.empty(len(feats), dtype=np.int64)
    for c in range(k):
        members = result.labels == c
        inside = members[labeled]
        if inside.any():
            votes = np.bincount(labels[inside])
            out[members] = int(votes.argmax())  # ties: the smaller label
        elif members.any():
            centre = feats[members].mean(axis=0)
            out[members] = labels[np.linalg.norm(feats[labeled] - centre, axis=1).argmin()]
    conf = result.confidence.astype(np.float64).copy()
    out[labeled], conf[labeled] = labels, 1.0
    return out, conf


def keep_confident(labels: np.ndarray, confidence: np.ndarray, keep: float, exclude: np.ndarray) -> np.ndarray:
    """Indices (sorted) of the most confident ``keep`` share of every pseudo-label class, ``exclude`` left out
    (per class, so a large easy class cannot crowd out a small one)."""
    allowed = np.ones(len(labels), dtype=bool)
    allowed[np.asarray(exclude, dtype=np.int64)] = False
    picked = []
    for c in np.unique(labels):
        idx = np.flatnonzero((labels == c) & allowed)
        picked.append(idx[np.argsort(-confidence[idx], kind="stable")[: math.ceil(keep * len(idx))]])
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)


# -- label files -----------------------------------------------------------------------------------------------


def write_to_label(path: Path, names: Sequence[str], picks: Picks, strategy: str) -> Path:
    """``file,cluster,typicality[,margin],label``: one row per pick in pick order, ``label`` left empty for a
    person to fill in (``aekit finetune --labels`` reads ``file`` and ``label``)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "cluster", "typicality", *(["margin"] if strategy == "margin" else []), "label"])
        for j, i in enumerate(picks.indices):
            typ = "" if np.isnan(picks.typicality[j]) else f"{picks.typicality[j]:.6g}"
            extra = [f"{picks.score[j]:.6g}"] if strategy == "margin" else []
            w.writerow([names[i], int(picks.cluster[j]), typ, *extra, ""])
    os.replace(tmp, path)
    return path


def read_label_file(path: str | Path, names: Sequence[str], column: str = "label") -> tuple[np.ndarray, list[str]]:
    """Pool indices and label strings of a ``file,label`` CSV (rows with an empty label are skipped: not yet
    labelled). Files must be items of the pool, by the names ``aekit suggest-labels`` writes."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"--labels {path} does not exist; pass a CSV with columns file,{column}")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        cols = reader.fieldnames or []
        if "file" not in cols or column not in cols:
            raise DataError(f"--labels {path} needs columns file,{column} (found: {', '.join(cols) or 'none'})")
        rows = [(r["file"].strip(), (r[column] or "").strip()) for r in reader]
    position = {n: i for i, n in enumerate(names)}
    unknown = [f for f, lab in rows if lab and f not in position]
    if unknown:
        raise DataError(
            f"--labels {path}: {len(unknown)} file(s) are not in the pool of --data (first: {unknown[0]!r}); "
            f"names look like {names[0]!r}: use the same --data as for aekit suggest-labels"
        )
    seen: dict[str, str] = {}
    for f, lab in rows:
        if lab and seen.setdefault(f, lab) != lab:
            raise DataError(f"--labels {path}: {f!r} has two labels ({seen[f]!r} and {lab!r}); keep one row")
    if not seen:
        raise DataError(f"--labels {path} has no filled-in label; write one in the {column} column of each row")
    idx = np.asarray([position[f] for f in seen], dtype=np.int64)
    return idx, list(seen.values())


def read_files(path: str | Path, flag: str = "--exclude") -> list[str]:
    """The ``file`` column of a CSV (a to_label.csv or a labels file)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{flag} {path} does not exist")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if "file" not in (reader.fieldnames or []):
            raise DataError(f"{flag} {path} has no 'file' column")
        return [r["file"].strip() for r in reader]


def read_exclude(paths: Sequence[str | Path], names: Sequence[str]) -> np.ndarray:
    """Pool indices of every file listed in these CSVs (``file`` column, labelled or not): already chosen."""
    position = {n: i for i, n in enumerate(names)}
    out: list[int] = []
    for p in paths:
        files = read_files(p)
        missing = [x for x in files if x not in position]
        if missing:
            raise DataError(f"--exclude {p}: {missing[0]!r} is not in the pool of --data; use the same --data")
        out += [position[x] for x in files]
    return np.unique(np.asarray(out, dtype=np.int64))


# -- the command's flow ----------------------------------------------------------------------------------------


@dataclass
class SuggestConfig:
    """How ``aekit suggest-labels`` picks (see the module docstring)."""

    budget: int = 10
    strategy: str = "typical"
    algorithm: str = "gmm"
    manifold: str = "umap"
    manifold_dim: int = 10
    n_neighbors: int = 20
    typical_k: int = 20
    min_distance: float = 0.0
    seed: int = 0
    split: str = "pool"  # pool = train + val (finetune's pool; the test split stays unseen), or one split, or all
    exclude: list[str] = field(default_factory=list)
    model: str | None = None  # margin: the fine-tuned classifier (a finetune run)

    def check(self) -> None:
        if self.strategy not in STRATEGIES:
            raise DataError(f"--strategy must be one of {', '.join(STRATEGIES)}, not {self.strategy!r}")
        if self.algorithm not in ALGORITHMS:
            raise DataError(f"--algorithm must be one of {', '.join(ALGORITHMS)}, not {self.algorithm!r}")
        if self.manifold not in MANIFOLDS:
            raise DataError(f"--manifold must be one of {', '.join(MANIFOLDS)}, not {self.manifold!r}")
        if self.strategy == "margin" and not self.model:
            raise DataError("--strategy margin needs --model FT_RUN (an aekit finetune run) to rank by confidence")


def pool_of(splits: DataSplits, split: str = "pool") -> Dataset:
    """The images to choose from: ``pool`` = train + val (what ``aekit finetune`` pseudo-labels; the test split
    stays unseen), ``all`` = every split, or one split."""
    names = {"pool": ("train", "val"), "all": ("train", "val", "test")}.get(split, (split,))
    parts = [getattr(splits, s) for s in names if getattr(splits, s, None) is not None and len(getattr(splits, s))]
    if not parts:
        raise DataError(f"--split {split} holds no images")
    return parts[0] if len(parts) == 1 else ConcatDataset(parts)


def reduced_codes(codes: np.ndarray, cfg: SuggestConfig) -> np.ndarray:
    """The space picks are made in: the codes through ``aekit cluster``'s manifold step."""
    return reduce(codes, cfg.manifold, min(cfg.manifold_dim, max(2, len(codes) - 2)), cfg.seed, cfg.n_neighbors)


def select(cfg: SuggestConfig, feats: np.ndarray, exclude: np.ndarray, probs: np.ndarray | None = None) -> Picks:
    """Dispatch on ``cfg.strategy`` (``probs``: the classifier's pool probabilities, for ``margin``)."""
    cfg.check()
    if cfg.strategy == "typical":
        return select_typical(feats, cfg.budget, exclude, cfg.seed, cfg.algorithm, cfg.typical_k, cfg.min_distance)
    if cfg.strategy == "random":
        return select_random(len(feats), cfg.budget, exclude, cfg.seed, feats, cfg.min_distance)
    if probs is None:
        raise ValueError("the margin strategy needs the classifier's probabilities")
    return select_margin(probs, cfg.budget, exclude, feats, cfg.min_distance)


def final_classifier(path: Path) -> Path:
    """The checkpoint of a finetune run's last stage: the student of ``--propagate`` when it trained one (its
    ``metrics.json`` names the stage directories), else the run's own ``best.ckpt``; a ``.ckpt`` as it is."""
    if not path.is_dir():
        return path
    metrics = path / "metrics.json"
    if metrics.is_file():
        info = json.loads(metrics.read_text())
        dirs, stages = info.get("dirs") or {}, info.get("stages") or []
        last = path / dirs.get(stages[-1].get("stage") if stages else "", "") / "best.ckpt"
        if stages and last.is_file():
            return last
    return path / "best.ckpt"


@dataclass
class Suggestion:
    picks: Picks
    names: list[str]  # the picked items' names, in pick order
    files: dict[str, Path]
    pool_size: int


def suggest_labels(
    run: str | Path | nn.Module,
    data: str,
    out: str | Path,
    cfg: SuggestConfig | None = None,
    data_options: dict[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
    **settings: Any,
) -> Suggestion:
    """``aekit.suggest_labels(run, data=..., out=..., budget=20, strategy="typical")``: ``settings`` are
    :class:`SuggestConfig` fields (they override ``cfg``'s). Encode the pool of ``data`` with the autoencoder
    ``run``, pick ``cfg.budget`` images and write the CSV
    (``out`` itself when it ends in ``.csv``, else ``out/to_label.csv``), beside it ``<stem>_picks.png`` (ten
    picks a row, in pick order) and ``<stem>.json`` (settings, pool size, picks with their pool index)."""
    from aekit.data.sampling import item_ids
    from aekit.experiments.label_efficiency import encode_all
    from aekit.inference.reconstruction import open_for_model
    from aekit.io import load

    unknown = sorted(set(settings) - set(SuggestConfig.__dataclass_fields__))
    if unknown:
        raise TypeError(f"suggest_labels: unknown setting(s) {', '.join(unknown)}")
    cfg = replace(cfg or SuggestConfig(), **settings)
    cfg.check()
    model = load(run) if not isinstance(run, nn.Module) else run
    if not hasattr(model, "encode"):
        raise DataError(f"{run} is not an autoencoder ({type(model).__name__}); suggest-labels needs its codes")
    model = model.cpu().eval()
    splits = open_for_model(model, data, **(data_options or {}))
    pool = pool_of(splits, cfg.split)
    names = item_ids(pool)
    exclude = read_exclude(cfg.exclude, names)
    codes = encode_all(model, pool, 512)
    feats = reduced_codes(codes, cfg)
    probs = None
    if cfg.strategy == "margin":
        from aekit.tasks import load_task
        from aekit.tasks.classification import predict_proba

        ckpt = final_classifier(Path(cfg.model))  # type: ignore[arg-type]
        if not ckpt.is_file():
            raise DataError(f"--model {cfg.model}: no best.ckpt there; pass an aekit finetune run directory")
        probs, _ = predict_proba(load_task(ckpt).model.cpu().eval(), pool, 512)
    picks = select(cfg, feats, exclude, probs)
    out = Path(out)
    csv_path = out if out.suffix.lower() == ".csv" else out / "to_label.csv"
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    write_to_label(csv_path, names, picks, cfg.strategy)
    images = np.stack([pool[int(i)]["image"].numpy() for i in picks.indices])
    rows = [images[i : i + 10] for i in range(0, len(images), 10)]
    png = montage(rows, csv_path.with_name(csv_path.stem + "_picks.png"))
    meta = {
        "data": data,
        "run": str(run) if not isinstance(run, nn.Module) else type(run).__name__,
        "pool_size": len(pool),
        "excluded": len(exclude),
        "config": asdict(cfg),
        "picks": [{"file": names[i], "index": int(i), "cluster": int(c)} for i, c in zip(picks.indices, picks.cluster)],
    }
    js = csv_path.with_suffix(".json")
    tmp = js.with_name(js.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=1) + "\n")
    os.replace(tmp, js)
    if log is not None:
        log(f"{cfg.budget} of {len(pool):,} pool images picked ({cfg.strategy}); {len(exclude)} excluded")
    return Suggestion(picks, [names[i] for i in picks.indices], {"csv": csv_path, "montage": png, "json": js},
                      len(pool))  # fmt: skip


# -- fine-tuning on exactly the labels a person gave ------------------------------------------------------------


def names_accuracy(probs: np.ndarray, truth: Sequence[str], class_names: Sequence[str]) -> float:
    """Accuracy of predictions (indices into ``class_names``) against label names (a class never labelled
    counts as wrong: nothing could predict it)."""
    pred = np.asarray(class_names, dtype=object)[np.asarray(probs).argmax(1)]
    return float(np.mean(pred == np.asarray(list(truth), dtype=object))) if len(truth) else float("nan")


def label_names(dataset: Dataset, info: dict[str, Any]) -> list[str] | None:
    """The source's own labels of ``dataset`` as names (``class_names`` of the source, else the number), or None."""
    from aekit.data.sampling import dataset_labels

    try:
        y = dataset_labels(dataset)
    except (DataError, KeyError):
        return None
    names = info.get("class_names")
    return [str(names[v]) if names else str(int(v)) for v in y]


def train_on_labels(
    ae: nn.Module,
    pool: Dataset,
    labeled_idx: np.ndarray,
    labels: Sequence[str],
    out: str | Path,
    cfg: Any,
    propagate: Sequence[str] = ("cluster",),
    suggest: SuggestConfig | None = None,
    feats: np.ndarray | None = None,
    clustering: Clustering | None = None,
    keep: float = 0.9,
    student_steps: int | None = None,
    self_train_rounds: int = 2,
    pseudo_fraction: float = 0.3,
    evaluate: dict[str, tuple[Dataset, Sequence[str]]] | None = None,
    seed: int = 0,
    metadata: dict[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fine-tune ``ae``'s encoder on exactly ``pool[labeled_idx]`` with ``labels`` (names), then, for each
    method in ``propagate``, spread the labels over the pool and train a student:

    - ``cluster``: :func:`propagate_by_clusters` in the reduced code space (``feats``, else computed with
      ``suggest``'s manifold settings; ``clustering`` of them, if made already), the most confident
      ``keep`` share of each class pseudo-labelled;
    - ``self-train``: :func:`aekit.experiments.label_efficiency.self_train` from the fine-tuned network
      (``self_train_rounds`` rounds, ``pseudo_fraction`` more of the pool each round).

    ``evaluate``: name -> (dataset, its label names) scored by every stage (never used for training).
    Returns ``{"class_names", "stages": [{stage, n_labeled, <name>_accuracy...}], "dirs": {stage: run dir
    relative to out}}``;
    the pool's own labels are never read.
    """
    from aekit.data.medical import encode_classes
    from aekit.data.sampling import Relabeled
    from aekit.experiments.label_efficiency import encode_all, finetune, self_train, train_student
    from aekit.tasks.classification import predict_proba

    unknown = sorted(set(propagate) - set(PROPAGATIONS))
    if unknown:
        raise DataError(f"--propagate: unknown method(s) {', '.join(unknown)}; choose from {', '.join(PROPAGATIONS)}")
    out = Path(out)
    suggest = suggest or SuggestConfig(seed=seed)
    y, class_names = encode_classes([str(v) for v in labels])
    if len(class_names) < 2:
        raise DataError(f"the labels name only one class ({class_names[0]!r}); a classifier needs at least two")
    k = len(class_names)
    labeled = Relabeled(pool, labeled_idx, y)
    meta = {**(metadata or {}), "class_names": class_names}
    stages = finetune(labeled, out, cfg, k, ae, seed=seed, metadata=meta)
    teacher = stages[-1][1]
    results: list[tuple[str, Any, Path]] = [("finetune", teacher, out)]
    student_cfg = replace(cfg, steps=student_steps or cfg.steps)
    for method in propagate:
        if method == "cluster":
            if feats is None:
                feats = reduced_codes(encode_all(ae.cpu().eval(), pool, 512), suggest)
            pseudo, conf = propagate_by_clusters(
                feats, labeled_idx, y, suggest.seed, suggest.algorithm, clustering=clustering
            )
            keep_idx = keep_confident(pseudo, conf, keep, labeled_idx)
            task = train_student(labeled, pool, keep_idx, pseudo[keep_idx], out / "cluster", student_cfg, k, ae,
                                 seed=seed, metadata={**meta, "propagation": "cluster"})  # fmt: skip
            results.append(("cluster", task, out / "cluster"))
        elif method == "self-train":
            task, _ = self_train(
                teacher.model, labeled, labeled_idx, pool, out / "self_train", cfg, k, self_train_rounds,
                pseudo_fraction, student_steps, pretrained=ae, seed=seed, metadata=meta,
            )  # fmt: skip
            results.append(("self-train", task, out / "self_train" / f"round_{self_train_rounds}"))
    rows = []
    for stage, task, _ in results:
        row: dict[str, Any] = {"stage": stage, "n_labeled": len(labeled_idx), "classes": k}
        for name, (ds, truth) in (evaluate or {}).items():
            row[f"{name}_accuracy"] = names_accuracy(predict_proba(task.model, ds, 512)[0], truth, class_names)
        rows.append(row)
        if log is not None:
            log(f"  {stage}: {row}")
    return {
        "class_names": class_names,
        "stages": rows,
        "dirs": {s: d.relative_to(out).as_posix() for s, _, d in results},
    }
