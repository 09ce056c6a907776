"""Trains FinFlow's credit scorecard and writes its artifacts and model card.

The model is an additive LightGBM model (a GAM: every tree splits on one feature only) on 19 repayment-history
features, Platt-calibrated on a held-out split and exported as one ONNX graph that outputs the per-feature
contributions, the calibrated logit and the probability of default. Training is deterministic; `--check` retrains
into a temporary folder and compares the result with the committed files number by number (compare.py: a last-bit
difference from another CPU passes, any real change of the model fails).

Usage (from any directory, in the venv of scripts/python-venv.sh):
    python models/credit/train.py                 # writes models/credit/artifacts/* and models/credit/MODEL_CARD.md
    python models/credit/train.py --out DIR       # writes DIR/artifacts/* and DIR/MODEL_CARD.md
    python models/credit/train.py --check         # retrains into a temp dir; exit 1 if any committed file differs
    python models/credit/train.py --fetch         # downloads UCI dataset 350 first (checksum pinned), then trains
Data: --data PATH, else ../shared/data/credit-default-taiwan.train.csv, else a copy fetched earlier (dataset.py).
Without any, --check skips with a one-line reason and exits 0; training exits 1.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import platform
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import matplotlib
import numpy as np
import onnx
import onnxruntime as ort
import sklearn
from onnx import TensorProto, helper
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score, roc_curve

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dataset  # noqa: E402  (beside this file)
from compare import CHECKED_FILES, MODEL_SEMVER, compare_roots, model_version as derive_model_version, report  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA_SHA256 = dataset.DATA_SHA256
TARGET = "default payment next month"

PAY_STATUS = ["PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"]
BILL_AMTS = [f"BILL_AMT{i}" for i in range(1, 7)]
PAY_AMTS = [f"PAY_AMT{i}" for i in range(1, 7)]
FEATURES = ["LIMIT_BAL", *PAY_STATUS, *BILL_AMTS, *PAY_AMTS]
MONTHS = ["Sep", "Aug", "Jul", "Jun", "May", "Apr"]  # index 1 (PAY_0) is September 2005
FEATURE_MEANING = {
    "LIMIT_BAL": "Total credit limit (individual and supplementary cards), NT$",
    **{f: f"Repayment status, {m} 2005 (-2 no use, -1 paid in full, 0 revolving, 1..9 months late)" for f, m in zip(PAY_STATUS, MONTHS)},
    **{f: f"Statement balance, {m} 2005, NT$ (negative: credit balance)" for f, m in zip(BILL_AMTS, MONTHS)},
    **{f: f"Amount paid, {m} 2005, NT$" for f, m in zip(PAY_AMTS, MONTHS)},
}

SEED = 20261124
APPROVE_BELOW = 0.15
DECLINE_AT_OR_ABOVE = 0.50
SPLIT_SHARES = {"train": (0, 60), "calibration": (60, 80), "validation": (80, 100)}  # hash buckets [lo, hi)
CV_FOLDS = 5
EARLY_STOPPING_ROUNDS = 100
MAX_ROUNDS = 5000

COMMON_PARAMS = {
    "objective": "binary",
    "metric": ["binary_logloss", "auc"],
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,
    "seed": SEED,
    "verbose": -1,
}
# The scorecard: boosted stumps, each tree on one feature (interaction_constraints), so the model is additive.
GAM_PARAMS = {"learning_rate": 0.05, "num_leaves": 2, "min_data_in_leaf": 200}
# Monotone constraints tried on top (kept only if cross-validated AUC does not drop): a higher credit limit and
# larger payments never raise risk. Repayment status is left free: its codes -2/-1/0 are not ordered by risk.
MONOTONE = {"LIMIT_BAL": -1, **{f: -1 for f in PAY_AMTS}}
# The black-box reference: ordinary unconstrained trees on the same features.
REFERENCE_PARAMS = {"learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 50}



# ----------------------------------------------------------------------------------------------------------- data


@dataclass
class Data:
    X: np.ndarray  # int64 [n, 19], FEATURES order
    y: np.ndarray  # int64 [n]
    columns: dict[str, np.ndarray]  # the other integer columns (SEX, AGE, EDUCATION, ...), for fairness and EDUCATION


def load_data(path: Path) -> Data:
    if not path.is_file():
        sys.exit(f"train.py: data file not found: {path}\n  (see models/credit/README.md; pass --data PATH or --fetch)")
    digest = dataset.sha256(path)
    if digest != DATA_SHA256:
        sys.exit(f"train.py: {path} has sha256 {digest}, expected {DATA_SHA256}: not the documented training file")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], np.array(rows[1:], dtype=np.int64)
    col = {name: body[:, i] for i, name in enumerate(header)}
    missing = [c for c in [*FEATURES, TARGET, "SEX", "AGE", "EDUCATION"] if c not in col]
    if missing:
        sys.exit(f"train.py: {path} lacks columns {missing}")
    return Data(X=np.column_stack([col[f] for f in FEATURES]), y=col[TARGET], columns=col)


def hash_buckets(X: np.ndarray) -> np.ndarray:
    """Bucket 0..99 per row from sha256 of its comma-joined model inputs: identical vectors share a bucket."""
    return np.array(
        [int.from_bytes(hashlib.sha256(",".join(map(str, row)).encode()).digest()[:8], "big") % 100 for row in X.tolist()],
        dtype=np.int64,
    )


# ------------------------------------------------------------------------------------------------------- training


def monotone_vector(features: list[str]) -> list[int]:
    return [MONOTONE.get(f, 0) for f in features]


def fit(X: np.ndarray, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]], params: dict) -> tuple[lgb.Booster, int, float]:
    """Chooses the number of rounds by early stopping on cross-validated log loss, then refits on all of X.

    Returns the booster, the number of rounds and the cross-validated AUC at that round.
    """
    p = {**COMMON_PARAMS, **params}
    cv = lgb.cv(
        p,
        lgb.Dataset(X.astype(np.float64), y, params={"verbose": -1}),
        num_boost_round=MAX_ROUNDS,
        folds=folds,
        callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, first_metric_only=True, verbose=False)],
    )
    rounds = len(cv["valid binary_logloss-mean"])
    booster = lgb.train(p, lgb.Dataset(X.astype(np.float64), y, params={"verbose": -1}), num_boost_round=rounds)
    return booster, rounds, float(cv["valid auc-mean"][-1])


def gam_params(n_features: int, monotone: list[int] | None) -> dict:
    p = {**GAM_PARAMS, "interaction_constraints": [[i] for i in range(n_features)]}
    if monotone:
        p["monotone_constraints"] = monotone
    return p


def logistic_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Unpenalised 1-D logistic regression y ~ sigmoid(a*x + b) by Newton's method (exact and deterministic)."""
    Z = np.column_stack([x, np.ones_like(x)])
    w = np.zeros(2)
    for _ in range(100):
        p = sigmoid(Z @ w)
        grad = Z.T @ (y - p)
        hess = (Z * (p * (1 - p))[:, None]).T @ Z
        step = np.linalg.solve(hess, grad)
        w += step
        if np.max(np.abs(step)) < 1e-12:
            break
    return float(w[0]), float(w[1])


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


# ------------------------------------------------------------------------------------------------------ scorecard


@dataclass
class Scorecard:
    """The calibrated additive model: logit = intercept + sum_j step_j(x_j), with x <= thresholds[k] going left."""

    thresholds: list[np.ndarray]  # per feature, ascending float64 split points
    values: list[np.ndarray]  # per feature, len(thresholds)+1 centred contributions (calibrated logit units)
    intercept: float
    platt_a: float
    platt_b: float

    def contributions(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        # searchsorted(side="left") counts the thresholds strictly below x: x <= t_k lands in interval k.
        return np.column_stack([v[np.searchsorted(t, X[:, j], side="left")] for j, (t, v) in enumerate(zip(self.thresholds, self.values))])

    def table_json(self) -> dict:
        return {
            "features": FEATURES,
            "intercept": self.intercept,
            "platt": {"a": self.platt_a, "b": self.platt_b},
            "tables": [
                {"feature": f, "thresholds": t.tolist(), "values": v.tolist()} for f, t, v in zip(FEATURES, self.thresholds, self.values)
            ],
        }


def raw_step_functions(booster: lgb.Booster) -> tuple[list[np.ndarray], list[np.ndarray], float]:
    """Each feature's uncalibrated step function (the sum of its trees) from the booster's dump, plus the constant
    of single-leaf trees. Fails on anything the additive export cannot represent."""
    dump = booster.dump_model()
    trees = dump["tree_info"]
    per_feature: dict[int, list[dict]] = {}
    constant = 0.0
    for tree in trees:
        root = tree["tree_structure"]
        if "leaf_value" in root:  # a tree without splits adds a constant
            constant += root["leaf_value"]
            continue
        used = set()
        stack = [root]
        while stack:
            node = stack.pop()
            if "leaf_value" in node:
                continue
            if node["decision_type"] != "<=":
                raise SystemExit(f"train.py: tree {tree['tree_index']}: unsupported decision_type {node['decision_type']}")
            # The data has no missing values, so LightGBM records missing_type None: NaN is scored as 0.0 and
            # default_left is irrelevant. Zero/NaN missing types would route values the step tables cannot express.
            if node["missing_type"] != "None":
                raise SystemExit(f"train.py: tree {tree['tree_index']}: unsupported missing_type {node['missing_type']}")
            used.add(node["split_feature"])
            stack += [node["left_child"], node["right_child"]]
        if len(used) != 1:
            raise SystemExit(f"train.py: tree {tree['tree_index']} splits on features {sorted(used)}: not additive")
        per_feature.setdefault(used.pop(), []).append(root)

    def evaluate(node: dict, x: float) -> float:
        while "leaf_value" not in node:
            node = node["left_child"] if x <= node["threshold"] else node["right_child"]
        return node["leaf_value"]

    def split_points(node: dict) -> list[float]:
        if "leaf_value" in node:
            return []
        return [node["threshold"], *split_points(node["left_child"]), *split_points(node["right_child"])]

    thresholds, values = [], []
    for j in range(len(dump["feature_names"])):
        roots = per_feature.get(j, [])
        t = np.array(sorted({s for r in roots for s in split_points(r)}), dtype=np.float64)
        # One representative per interval: t_k itself for (t_{k-1}, t_k], the next double above t_last for the last.
        probes = [*t, np.nextafter(t[-1], np.inf)] if len(t) else [0.0]
        v = np.array([math.fsum(evaluate(r, x) for r in roots) for x in probes], dtype=np.float64)
        thresholds.append(t)
        values.append(v)
    return thresholds, values, constant


def build_scorecard(booster: lgb.Booster, X_train: np.ndarray, raw_cal: np.ndarray, y_cal: np.ndarray) -> Scorecard:
    """Platt-scales the raw step functions (a folds into every value, b into the intercept), centres each feature on
    its train-split mean and merges equal neighbouring intervals."""
    a, b = logistic_fit(raw_cal, y_cal.astype(np.float64))
    raw_t, raw_v, constant = raw_step_functions(booster)
    thresholds, values = [], []
    intercept_terms = [b, a * constant]
    for j, (t, v) in enumerate(zip(raw_t, raw_v)):
        scaled = a * v
        mean = float(np.mean(scaled[np.searchsorted(t, X_train[:, j].astype(np.float64), side="left")]))
        centred = scaled - mean
        intercept_terms.append(mean)
        keep = np.flatnonzero(centred[1:] != centred[:-1])  # drop a threshold whose two sides are equal
        thresholds.append(t[keep])
        values.append(np.concatenate([centred[keep], centred[-1:]]))
    return Scorecard(thresholds, values, math.fsum(intercept_terms), a, b)


# ----------------------------------------------------------------------------------------------------------- onnx


def float32_at_most(t: float) -> float:
    """The largest float32 <= t: for any float32 input x, (x <= t) == (x <= float32_at_most(t)), so the float32
    graph splits exactly where the float64 model does."""
    f = np.float32(t)
    return float(np.nextafter(f, np.float32(-np.inf)) if float(f) > t else f)


def build_onnx(card: Scorecard, model_version: str) -> onnx.ModelProto:
    """One TreeEnsembleRegressor tree per feature: a balanced binary search over the feature's merged thresholds
    whose leaves hold its centred contributions and target that feature's output column. The graph therefore
    computes exactly the contribution tables (no float32 summation over hundreds of boosted trees); a feature whose
    contribution is constant 0 gets no tree."""
    attrs = {k: [] for k in ["nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values", "nodes_modes",
                             "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true",
                             "target_treeids", "target_nodeids", "target_ids", "target_weights"]}

    def node(tree: int, j: int, lo: int, hi: int, ids: list[int]) -> int:
        """Emits the subtree for intervals lo..hi (inclusive) of feature j; returns its node id."""
        nid = ids[0]
        ids[0] += 1
        t, v = card.thresholds[j], card.values[j]
        attrs["nodes_treeids"].append(tree)
        attrs["nodes_nodeids"].append(nid)
        attrs["nodes_featureids"].append(j)
        if lo == hi:
            attrs["nodes_values"].append(0.0)
            attrs["nodes_modes"].append("LEAF")
            attrs["nodes_truenodeids"].append(0)
            attrs["nodes_falsenodeids"].append(0)
            attrs["nodes_missing_value_tracks_true"].append(0)
            attrs["target_treeids"].append(tree)
            attrs["target_nodeids"].append(nid)
            attrs["target_ids"].append(j)
            attrs["target_weights"].append(float(v[lo]))
            return nid
        mid = (lo + hi) // 2  # intervals lo..mid are x <= t[mid]
        at = len(attrs["nodes_modes"])
        attrs["nodes_values"].append(float32_at_most(t[mid]))
        attrs["nodes_modes"].append("BRANCH_LEQ")
        attrs["nodes_truenodeids"].append(-1)
        attrs["nodes_falsenodeids"].append(-1)
        # LightGBM (missing_type None) scores NaN as 0.0: send NaN wherever 0.0 goes.
        attrs["nodes_missing_value_tracks_true"].append(int(0.0 <= t[mid]))
        attrs["nodes_truenodeids"][at] = node(tree, j, lo, mid, ids)
        attrs["nodes_falsenodeids"][at] = node(tree, j, mid + 1, hi, ids)
        return nid

    tree = 0
    for j in range(len(FEATURES)):
        if len(card.thresholds[j]) == 0 and card.values[j][0] == 0.0:
            continue
        node(tree, j, 0, len(card.thresholds[j]), [0])
        tree += 1

    n = len(FEATURES)
    nodes = [
        helper.make_node("TreeEnsembleRegressor", ["features"], ["contributions"], domain="ai.onnx.ml", name="step_functions",
                         n_targets=n, aggregate_function="SUM", post_transform="NONE", **attrs),
        helper.make_node("ReduceSum", ["contributions", "sum_axes"], ["contribution_sum"], keepdims=1, name="sum"),
        helper.make_node("Add", ["contribution_sum", "intercept"], ["logit"], name="add_intercept"),
        helper.make_node("Sigmoid", ["logit"], ["pd"], name="sigmoid"),
    ]
    graph = helper.make_graph(
        nodes,
        "credit_scorecard",
        inputs=[helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", n])],
        outputs=[
            helper.make_tensor_value_info("contributions", TensorProto.FLOAT, ["N", n]),
            helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["N", 1]),
            helper.make_tensor_value_info("pd", TensorProto.FLOAT, ["N", 1]),
        ],
        initializer=[
            helper.make_tensor("sum_axes", TensorProto.INT64, [1], [1]),
            helper.make_tensor("intercept", TensorProto.FLOAT, [1], [card.intercept]),
        ],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)],
        producer_name="finflow-models-credit-train",
        producer_version=MODEL_SEMVER,
        doc_string="FinFlow credit scorecard: additive (GAM) LightGBM, Platt-calibrated. Inputs in 'features' order.",
    )
    model.ir_version = 8
    helper.set_model_props(model, {"model_version": model_version, "features": ",".join(FEATURES), "intercept": repr(card.intercept)})
    onnx.checker.check_model(model, full_check=True)
    return model


def ort_session(model_bytes: bytes) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


# -------------------------------------------------------------------------------------------------------- metrics


def ks_statistic(y: np.ndarray, score: np.ndarray) -> float:
    fpr, tpr, _ = roc_curve(y, score)
    return float(np.max(tpr - fpr))


def reliability_table(y: np.ndarray, pd: np.ndarray, bins: int = 10) -> list[dict]:
    """Deciles of PD by rank (stable sort, near-equal counts): mean PD vs observed default rate."""
    order = np.argsort(pd, kind="stable")
    return [
        {"decile": k + 1, "count": int(len(idx)), "minPd": float(pd[idx].min()), "maxPd": float(pd[idx].max()),
         "meanPd": float(pd[idx].mean()), "observedRate": float(y[idx].mean())}
        for k, idx in enumerate(np.array_split(order, bins))
    ]


def evaluate(y: np.ndarray, pd: np.ndarray) -> dict:
    logit = np.log(pd) - np.log1p(-pd)
    slope, cal_intercept = logistic_fit(logit, y.astype(np.float64))
    return {
        "auc": float(roc_auc_score(y, pd)),
        "ks": ks_statistic(y, pd),
        "brier": float(brier_score_loss(y, pd)),
        "logLoss": float(log_loss(y, pd)),
        "meanPd": float(pd.mean()),
        "observedRate": float(y.mean()),
        "calibrationInTheLarge": float(pd.mean() - y.mean()),  # mean PD minus observed rate
        "calibrationSlope": slope,  # of y on logit(PD); 1 is ideal
        "calibrationIntercept": cal_intercept,
        "reliability": reliability_table(y, pd),
    }


def band_report(y: np.ndarray, pd: np.ndarray) -> list[dict]:
    bands = [("approve", pd < APPROVE_BELOW), ("review", (pd >= APPROVE_BELOW) & (pd < DECLINE_AT_OR_ABOVE)), ("decline", pd >= DECLINE_AT_OR_ABOVE)]
    return [{"band": name, "count": int(m.sum()), "share": float(m.mean()), "observedRate": float(y[m].mean()) if m.any() else None} for name, m in bands]


def fairness_report(y: np.ndarray, pd: np.ndarray, groups: dict[str, np.ndarray]) -> list[dict]:
    rows = []
    for name, m in groups.items():
        yy, pp = y[m], pd[m]
        rows.append({
            "group": name,
            "count": int(m.sum()),
            "observedRate": float(yy.mean()),
            "meanPd": float(pp.mean()),
            "approvalRate": float((pp < APPROVE_BELOW).mean()),
            "declineRate": float((pp >= DECLINE_AT_OR_ABOVE).mean()),
            "auc": float(roc_auc_score(yy, pp)) if 0 < yy.sum() < len(yy) else None,
        })
    best = max(r["approvalRate"] for r in rows)
    for r in rows:
        r["approvalRatioToMax"] = r["approvalRate"] / best
    return rows


def age_bands(age: np.ndarray) -> dict[str, np.ndarray]:
    bands = {"21–29": (21, 29), "30–39": (30, 39), "40–49": (40, 49), "50–59": (50, 59), "60+": (60, 200)}
    return {f"AGE {k}": (age >= lo) & (age <= hi) for k, (lo, hi) in bands.items()}


# ----------------------------------------------------------------------------------------------- parity vectors


def parity_vectors() -> np.ndarray:
    """256 generated profiles (seeded; not dataset rows) over realistic ranges, then all-minimum, all-maximum and
    all-zero edge vectors."""
    rng = np.random.default_rng(SEED)
    n = 256
    limit = 10_000 * rng.integers(1, 101, n)
    codes = np.arange(-2, 9)
    code_p = np.array([0.15, 0.2, 0.35, 0.1, 0.08, 0.04, 0.03, 0.02, 0.01, 0.01, 0.01])
    pay = rng.choice(codes, size=(n, 6), p=code_p)
    # Balances: mostly log-normal around tens of thousands, some credit balances; payments: skewed to small, some 0.
    bill = np.where(rng.random((n, 6)) < 0.1, -rng.integers(1, 50_001, (n, 6)), np.floor(rng.lognormal(10.0, 1.5, (n, 6))))
    bill = np.clip(bill, -50_000, 900_000)
    paid = np.where(rng.random((n, 6)) < 0.2, 0, np.floor(rng.lognormal(8.0, 1.5, (n, 6))))
    paid = np.clip(paid, 0, 500_000)
    random = np.column_stack([limit, pay, bill, paid]).astype(np.int64)
    edges = np.array([
        [10_000, *[-2] * 6, *[-50_000] * 6, *[0] * 6],
        [1_000_000, *[8] * 6, *[900_000] * 6, *[500_000] * 6],
        [0] * 19,
    ], dtype=np.int64)
    return np.vstack([random, edges])


# ---------------------------------------------------------------------------------------------------------- plots


def save_png(fig, path: Path) -> None:
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def plot_roc(path: Path, y: np.ndarray, curves: list[tuple[str, np.ndarray]]) -> None:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for label, score in curves:
        fpr, tpr, _ = roc_curve(y, score)
        ax.plot(fpr, tpr, label=f"{label} (AUC {roc_auc_score(y, score):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC, validation split")
    ax.legend(loc="lower right")
    fig.tight_layout()
    save_png(fig, path)


def plot_calibration(path: Path, tables: list[tuple[str, list[dict]]]) -> None:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for label, table in tables:
        ax.plot([r["meanPd"] for r in table], [r["observedRate"] for r in table], marker="o", label=label)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="perfect calibration")
    ax.set(xlabel="Mean predicted PD (decile)", ylabel="Observed default rate", title="Reliability by PD decile, validation",
           xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left")
    fig.tight_layout()
    save_png(fig, path)


def plot_shapes(path: Path, card: Scorecard, X_train: np.ndarray) -> None:
    """Each feature's contribution step function over its train-split 0.5–99.5 % range."""
    fig, axes = plt.subplots(4, 5, figsize=(16, 11.5))
    for j, ax in enumerate(axes.flat):
        if j >= len(FEATURES):
            ax.axis("off")
            continue
        lo, hi = np.quantile(X_train[:, j], [0.005, 0.995])
        if lo == hi:
            hi = lo + 1
        xs = np.linspace(lo, hi, 600)
        ys = card.values[j][np.searchsorted(card.thresholds[j], xs, side="left")]
        ax.step(xs, ys, where="post", lw=1.2)
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_title(FEATURES[j], fontsize=10)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
        if hi > 10_000:  # amounts: label in thousands so the ticks do not collide
            ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / 1000:g}k"))
    fig.suptitle("Contribution to the calibrated logit per feature (positive = riskier than the average applicant)")
    fig.tight_layout()
    save_png(fig, path)


# ------------------------------------------------------------------------------------------------------- the card


def pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f} %"


def md_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def integer_ranges(t: np.ndarray) -> list[str]:
    """The integer values in each interval of a step function: x <= t_0, t_0 < x <= t_1, ..., x > t_last."""
    if len(t) == 0:
        return ["all values"]
    ups = [math.floor(v) for v in t]
    out = [f"≤ {ups[0]:,}"]
    for lo, hi in zip(ups[:-1], ups[1:]):
        out.append(f"{lo + 1:,}" if lo + 1 == hi else f"{lo + 1:,} … {hi:,}")
    out.append(f"≥ {ups[-1] + 1:,}")
    return out


def model_card(m: dict, card: Scorecard, model_version: str) -> str:
    v, r = m["scorecard"]["validation"], m["reference"]["validation"]
    s = m["split"]
    metric_rows = [[name, f"{v[k]:.4f}", f"{r[k]:.4f}"] for name, k in
                   [("AUC", "auc"), ("KS", "ks"), ("Brier score", "brier"), ("Log loss", "logLoss"),
                    ("Calibration-in-the-large (mean PD − observed)", "calibrationInTheLarge"), ("Calibration slope", "calibrationSlope")]]
    reliability_rows = [[x["decile"], x["count"], f"{x['minPd']:.3f} – {x['maxPd']:.3f}", f"{x['meanPd']:.3f}", f"{x['observedRate']:.3f}"]
                        for x in v["reliability"]]
    band_rows = [[b["band"], f"{b['count']:,}", pct(b["share"]), pct(b["observedRate"]) if b["observedRate"] is not None else "–"] for b in m["bands"]]
    fair_rows = [[g["group"], f"{g['count']:,}", pct(g["observedRate"]), pct(g["meanPd"]), pct(g["approvalRate"]), pct(g["declineRate"]),
                  f"{g['auc']:.3f}" if g["auc"] is not None else "–", f"{g['approvalRatioToMax']:.3f}"]
                 for section in ("sex", "age") for g in m["fairness"][section]]
    tables = []
    for f, t, vals in zip(FEATURES, card.thresholds, card.values):
        rows = [[rng, f"{c:+.3f}"] for rng, c in zip(integer_ranges(t), vals)]
        tables.append(f"**{f}** — {FEATURE_MEANING[f]}\n\n" + md_table(["value", "contribution"], rows))
    mono = m["training"]["monotone"]
    edu = m["educationTransparency"]
    ver = m["versions"]
    return f"""# Model card: FinFlow credit scorecard (`{model_version}`)

Generated by `models/credit/train.py` from the run that produced `models/credit/artifacts/`; every number below comes from that run.

## Purpose and intended use

Estimates the probability that a revolving-credit (card) applicant defaults on the next payment (PD), from six months
of repayment history, balances and payments plus the total credit limit. FinFlow's credit workflow uses it to route
applications: **auto-approve when PD < {APPROVE_BELOW}**, **auto-decline when PD ≥ {DECLINE_AT_OR_ABOVE}**, manual review
in between (configuration defaults `CREDIT_APPROVE_BELOW_PD`, `CREDIT_DECLINE_AT_OR_ABOVE_PD`). The model is additive,
so every decision comes with exact per-feature contributions from which the product derives reason codes.

It is a demonstration model trained on public 2005 data (see *Known limits*). It is not validated for lending to real
applicants and must not be used as the sole basis of a credit decision without a portfolio-specific redevelopment,
validation and compliance review.

## Data

Yeh, I-C. (2009/2016). *Default of Credit Card Clients* [dataset]. UCI Machine Learning Repository, dataset id 350.
https://doi.org/10.24432/C55S3H. Licensed **CC BY 4.0**. Paper: Yeh, I-C. & Lien, C-H. (2009). The comparisons of data
mining techniques for the predictive accuracy of probability of default of credit card clients. *Expert Systems with
Applications* 36(2), 2473–2480.

FinFlow trains on `credit-default-taiwan.train.csv` (sha256 `{DATA_SHA256[:16]}…`, verified by the script): {s['rows']:,}
of the 30,000 clients of one Taiwanese bank, observed April–September 2005; target `default payment next month`
(default in October 2005), {pct(m['data']['defaultRate'], 2)} positive. The other 6,000 rows are held back by the
project as an independent evaluation set and were not seen here.

## Features

The model's 19 inputs, in this order (the ONNX input's column order):

{md_table(["#", "feature", "meaning"], [[i, f"`{f}`", FEATURE_MEANING[f]] for i, f in enumerate(FEATURES)])}

Inputs are integers (codes, whole NT$); the ONNX graph takes them as float32, which is exact below 16,777,216.

### Excluded attributes

* **SEX, MARRIAGE, AGE**: prohibited (SEX, marital status) or restricted (age) bases for credit decisions under
  ECOA / Regulation B. Never inputs; SEX and AGE are used only for the fairness measurement below.
* **EDUCATION**: not a prohibited basis, but a likely proxy for protected characteristics (disparate-impact risk),
  so it is excluded. For transparency: the same procedure with EDUCATION added as a 20th feature reaches a
  validation AUC of **{edu['validationAuc']:.4f}** (vs {v['auc']:.4f} without it, {edu['rounds']} rounds). That
  model is not shipped.

## Split

Rows are grouped by their 19-feature model-input vector, so identical vectors always fall on the same side. Each
vector goes to a bucket `int(sha256("v1,v2,…,v19")[:8 bytes], big-endian) mod 100` (integers joined by commas, no
spaces): buckets 0–59 train, 60–79 calibration, 80–99 validation. The rule depends on neither row order nor library
versions.

{md_table(["split", "rows", "default rate", "used for"], [
    ["train", f"{s['train']:,}", pct(m["data"]["trainRate"]), "fitting trees; 5-fold CV (folds = bucket mod 5) to choose rounds; centring"],
    ["calibration", f"{s['calibration']:,}", pct(m["data"]["calibrationRate"]), "Platt scaling only"],
    ["validation", f"{s['validation']:,}", pct(m["data"]["validationRate"]), "all metrics below"],
])}

## Training

* **Scorecard (shipped)**: LightGBM {ver['lightgbm']} binary boosting of stumps (`num_leaves` {GAM_PARAMS['num_leaves']},
  `learning_rate` {GAM_PARAMS['learning_rate']}, `min_data_in_leaf` {GAM_PARAMS['min_data_in_leaf']}) with
  `interaction_constraints` putting every feature in its own group, so each tree uses exactly one feature and the
  model is a sum of per-feature step functions (a GAM). Deterministic settings (`deterministic`, `force_row_wise`,
  one thread, seed {SEED}).
* **Rounds**: early stopping (patience {EARLY_STOPPING_ROUNDS}) on the mean log loss of a 5-fold cross-validation
  inside the train split (fold = hash bucket mod 5, so duplicates stay together); the final model is refitted on the
  whole train split with the chosen **{m['training']['rounds']} rounds**. The calibration split stays untouched until
  Platt scaling.
* **Monotone constraints**: tried non-increasing risk in `LIMIT_BAL` and `PAY_AMT1..6` (higher limit, larger
  payments). Cross-validated AUC {mono['cvAucConstrained']:.4f} with them vs {mono['cvAucFree']:.4f} without:
  **{"kept" if mono['used'] else "not used"}** (kept only if the AUC does not drop). Repayment status is left free:
  its codes −2/−1/0 are not ordered by risk.
* **Reference (not shipped)**: unconstrained LightGBM (`num_leaves` {REFERENCE_PARAMS['num_leaves']},
  `min_data_in_leaf` {REFERENCE_PARAMS['min_data_in_leaf']}, `learning_rate` {REFERENCE_PARAMS['learning_rate']}) on
  the same 19 features and split, rounds chosen the same way ({m['reference']['rounds']}), Platt-calibrated the same
  way. It measures what the additive constraint costs.

## Calibration and the additive form

Platt scaling on the calibration split, on the booster's raw logit: `calibrated logit = a · raw + b` with
a = {card.platt_a:.6f}, b = {card.platt_b:.6f}. Being affine, it keeps the model additive: `a` scales every feature's
step function and `b` goes into the intercept. Each feature's contribution function is then centred so its mean over
the train split is 0 (the means move into the intercept), so a **positive contribution means riskier than the average
applicant**. Final identity, exact in float64: `intercept + Σ contributions = calibrated logit`,
`PD = sigmoid(calibrated logit)`; intercept = {card.intercept:.6f}.

## Performance (validation split, {s['validation']:,} rows)

{md_table(["metric", "scorecard (shipped)", "reference (unconstrained)"], metric_rows)}

![ROC](artifacts/roc.png)

### Calibration by PD decile (scorecard)

{md_table(["decile", "rows", "PD range", "mean PD", "observed rate"], reliability_rows)}

![Calibration](artifacts/calibration.png)

## Decision bands (validation)

{md_table(["band", "rows", "share", "observed default rate"], band_rows)}

Approve: PD < {APPROVE_BELOW}; review: {APPROVE_BELOW} ≤ PD < {DECLINE_AT_OR_ABOVE}; decline: PD ≥ {DECLINE_AT_OR_ABOVE}.

## Fairness (validation; measured, not inputs)

SEX (1 = male, 2 = female, as coded by UCI) and age bands. Approval = PD < {APPROVE_BELOW}; decline = PD ≥
{DECLINE_AT_OR_ABOVE}; the ratio compares each group's approval rate with the most-approved group of the same
attribute (the four-fifths rule view: below 0.80 warrants review).

{md_table(["group", "rows", "observed rate", "mean PD", "approval rate", "decline rate", "AUC", "approval ratio"], fair_rows)}

Lowest approval ratio: {m['fairness']['minApprovalRatio']['sex']:.3f} by SEX, {m['fairness']['minApprovalRatio']['age']:.3f} by age band.

## Contribution tables

What the model computes, per feature: the contribution (calibrated logit units, centred on the train split) for each
range of integer values, rounded here; the exact tables (float64) are `artifacts/contributions.json`.

![Shape functions](artifacts/shape-functions.png)

{(chr(10) * 2).join(tables)}

## Reason codes

Because contributions are exact and centred, the product derives up to 4 principal reasons for an adverse decision
from the largest positive contributions (related features grouped into one reason, e.g. six months of balances), as an
adverse-action notice needs (Regulation B, 12 CFR 1002.9). A negative contribution is never a reason.

## Reproduction

```sh
venv="$(bash scripts/python-venv.sh | tail -n 1)"   # pinned: models/credit/requirements.txt
"$venv/bin/python" models/credit/train.py           # rewrites artifacts/ and this card
"$venv/bin/python" models/credit/train.py --check   # retrains into a temp dir; compares within stated tolerances (compare.py)
```

Trained with Python {ver['python']}, LightGBM {ver['lightgbm']}, scikit-learn {ver['scikit-learn']}, numpy
{ver['numpy']}, onnx {ver['onnx']}, onnxruntime {ver['onnxruntime']}, matplotlib {ver['matplotlib']}. The ONNX
graph (opset 17 + ai.onnx.ml 3, IR 8) reproduces the Python model on the parity vectors to a max |ΔPD| of
{m['parity']['maxAbsPdDiff']:.2e} and max |Δcontribution| of {m['parity']['maxAbsContributionDiff']:.2e}.

## Known limits

* **Old, foreign, single-issuer data**: one Taiwanese bank's card clients in 2005, amounts in NT$ (New Taiwan
  dollars). It does not describe US (or any current) borrowers; inputs must be converted to NT$, and the PD scale is
  that bank's 2005 default rate ({pct(m['data']['defaultRate'], 1)}).
* **No reject inference**: the data contains only accepted clients; the model never saw the applicants the bank
  declined, so PDs for thin or unusual profiles are extrapolations (step functions are flat beyond the last split).
* **Regulation B / ECOA**: protected attributes are excluded as inputs, but the remaining features can still
  correlate with them; an adverse-action notice needs specific reasons, which the reason codes provide, but their
  wording and the model's use need compliance review.
* **EDUCATION excluded**: adding it changes the validation AUC by {edu['validationAuc'] - v['auc']:+.4f} (see above).
* **Correlated features**: the six monthly balances, statuses and payments are strongly correlated, so one feature's
  step function can partly offset another's (e.g. a high recent balance raising risk while an older one lowers it).
  Read contributions by group, as the reason codes do, rather than one month at a time.
* **Fairness is measured, not guaranteed**: the tables above describe this validation split only; no fairness
  constraint was imposed in training. Group results for small groups (e.g. 60+) are noisy.
* **Additive by design**: it gives up about {r['auc'] - v['auc']:.3f} AUC against the unconstrained reference in
  exchange for exact, per-feature explanations.
* **Undocumented codes**: repayment statuses −2 and 0 are not documented by UCI (read as "no use" and "revolving").
"""


# ----------------------------------------------------------------------------------------------------------- main


def dumps(obj) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def train(data_path: Path, out: Path) -> None:
    data = load_data(data_path)
    X, y = data.X, data.y
    bucket = hash_buckets(X)
    masks = {name: (bucket >= lo) & (bucket < hi) for name, (lo, hi) in SPLIT_SHARES.items()}
    tr, ca, va = masks["train"], masks["calibration"], masks["validation"]
    # CV folds inside train, also by hash bucket (0..59 mod 5), so identical vectors share a fold.
    tr_bucket = bucket[tr]
    folds = [(np.flatnonzero(tr_bucket % CV_FOLDS != k), np.flatnonzero(tr_bucket % CV_FOLDS == k)) for k in range(CV_FOLDS)]
    Xtr, ytr = X[tr], y[tr]

    # The scorecard, with the monotone constraints only if they cost no cross-validated AUC.
    free = fit(Xtr, ytr, folds, gam_params(len(FEATURES), None))
    constrained = fit(Xtr, ytr, folds, gam_params(len(FEATURES), monotone_vector(FEATURES)))
    use_monotone = constrained[2] >= free[2]
    booster, rounds, _ = constrained if use_monotone else free

    raw = booster.predict(X.astype(np.float64), raw_score=True)
    card = build_scorecard(booster, Xtr, raw[ca], y[ca])
    logit = card.platt_a * raw + card.platt_b
    pd = sigmoid(logit)
    identity = np.max(np.abs(card.intercept + card.contributions(X).sum(axis=1) - logit))
    if identity > 1e-9:
        raise SystemExit(f"train.py: the contribution tables miss the booster's calibrated logit by {identity}")

    # The reference and the EDUCATION transparency model (same split, same round selection, same calibration).
    ref_booster, ref_rounds, ref_cv_auc = fit(Xtr, ytr, folds, REFERENCE_PARAMS)
    ref_raw = ref_booster.predict(X.astype(np.float64), raw_score=True)
    ref_a, ref_b = logistic_fit(ref_raw[ca], y[ca].astype(np.float64))
    ref_pd = sigmoid(ref_a * ref_raw + ref_b)
    Xe = np.column_stack([X, data.columns["EDUCATION"]])
    edu_booster, edu_rounds, _ = fit(Xe[tr], ytr, folds, gam_params(Xe.shape[1], monotone_vector(FEATURES) + [0] if use_monotone else None))
    edu_auc = float(roc_auc_score(y[va], edu_booster.predict(Xe[va].astype(np.float64), raw_score=True)))

    # Artifacts: tables, ONNX, parity vectors.
    table = card.table_json()
    model_version = derive_model_version(table)
    model_bytes = build_onnx(card, model_version).SerializeToString()

    P = parity_vectors()
    p_logit = card.platt_a * booster.predict(P.astype(np.float64), raw_score=True) + card.platt_b
    p_pd = sigmoid(p_logit)
    p_contrib = card.contributions(P)
    if np.max(np.abs(card.intercept + p_contrib.sum(axis=1) - p_logit)) > 1e-9:
        raise SystemExit("train.py: contribution tables and booster disagree on the parity vectors")
    session = ort_session(model_bytes)
    o_contrib, o_logit, o_pd = session.run(["contributions", "logit", "pd"], {"features": P.astype(np.float32)})
    parity = {
        "maxAbsPdDiff": float(np.max(np.abs(o_pd[:, 0] - p_pd))),
        "maxAbsLogitDiff": float(np.max(np.abs(o_logit[:, 0] - p_logit))),
        "maxAbsContributionDiff": float(np.max(np.abs(o_contrib - p_contrib))),
    }
    d_contrib, _, d_pd = session.run(None, {"features": X.astype(np.float32)})
    parity["dataset"] = {"rows": int(len(X)), "maxAbsPdDiff": float(np.max(np.abs(d_pd[:, 0] - pd))),
                         "maxAbsContributionDiff": float(np.max(np.abs(d_contrib - card.contributions(X))))}
    if parity["maxAbsPdDiff"] >= 1e-6 or parity["maxAbsContributionDiff"] >= 1e-5 or parity["dataset"]["maxAbsPdDiff"] >= 1e-6:
        raise SystemExit(f"train.py: ONNX does not reproduce the Python model: {parity}")

    # Metrics.
    val = evaluate(y[va], pd[va])
    if val["auc"] < 0.77:
        raise SystemExit(f"train.py: validation AUC {val['auc']:.4f} is below the 0.77 floor")
    sex, age = data.columns["SEX"][va], data.columns["AGE"][va]
    fairness = {
        "sex": fairness_report(y[va], pd[va], {"SEX 1 (male)": sex == 1, "SEX 2 (female)": sex == 2}),
        "age": fairness_report(y[va], pd[va], age_bands(age)),
    }
    fairness["minApprovalRatio"] = {k: min(g["approvalRatioToMax"] for g in fairness[k]) for k in ("sex", "age")}
    metrics = {
        "modelVersion": model_version,
        "data": {"file": data_path.name, "sha256": DATA_SHA256, "defaultRate": float(y.mean()),
                 "trainRate": float(y[tr].mean()), "calibrationRate": float(y[ca].mean()), "validationRate": float(y[va].mean())},
        "split": {"rule": "sha256(comma-joined 19 model inputs)[:8] big-endian mod 100: 0-59 train, 60-79 calibration, 80-99 validation",
                  "rows": int(len(X)), **{k: int(m.sum()) for k, m in masks.items()},
                  "distinctVectors": int(len(np.unique(X, axis=0)))},
        "training": {"params": {**COMMON_PARAMS, **GAM_PARAMS}, "interactionConstraints": "each feature in its own group", "rounds": rounds, "trees": booster.num_trees(),
                     "roundSelection": f"early stopping ({EARLY_STOPPING_ROUNDS}) on {CV_FOLDS}-fold CV log loss inside train",
                     "cvAuc": (constrained if use_monotone else free)[2],
                     "monotone": {"used": use_monotone, "constraints": MONOTONE, "cvAucConstrained": constrained[2],
                                  "cvAucFree": free[2], "roundsConstrained": constrained[1], "roundsFree": free[1]}},
        "platt": {"a": card.platt_a, "b": card.platt_b},
        "intercept": card.intercept,
        "scorecard": {"validation": val, "calibrationSplitAuc": float(roc_auc_score(y[ca], pd[ca])),
                      "trainAuc": float(roc_auc_score(y[tr], pd[tr]))},
        "reference": {"params": REFERENCE_PARAMS, "rounds": ref_rounds, "cvAuc": ref_cv_auc, "platt": {"a": ref_a, "b": ref_b},
                      "validation": evaluate(y[va], ref_pd[va])},
        "educationTransparency": {"validationAuc": edu_auc, "rounds": edu_rounds, "shipped": False},
        "thresholds": {"approveBelowPd": APPROVE_BELOW, "declineAtOrAbovePd": DECLINE_AT_OR_ABOVE},
        "bands": band_report(y[va], pd[va]),
        "fairness": fairness,
        "parity": {"vectors": int(len(P)), **parity},
        "versions": {"python": ".".join(platform.python_version_tuple()[:2]), "lightgbm": lgb.__version__, "scikit-learn": sklearn.__version__,
                     "numpy": np.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__,
                     "matplotlib": matplotlib.__version__},
    }

    art = out / "artifacts"
    art.mkdir(parents=True, exist_ok=True)
    (art / "credit-scorecard.onnx").write_bytes(model_bytes)
    (art / "contributions.json").write_text(dumps({"modelVersion": model_version, **table}), encoding="utf-8")
    (art / "parity-vectors.json").write_text(dumps({
        "modelVersion": model_version, "features": FEATURES, "vectors": P.tolist(), "pd": p_pd.tolist(),
        "logit": p_logit.tolist(), "contributions": p_contrib.tolist(), "ortPd": o_pd[:, 0].astype(np.float64).tolist(),
    }), encoding="utf-8")
    (art / "metrics.json").write_text(dumps(metrics), encoding="utf-8")
    plot_roc(art / "roc.png", y[va], [("Scorecard (additive)", pd[va]), ("Reference (unconstrained)", ref_pd[va])])
    plot_calibration(art / "calibration.png", [("Scorecard", val["reliability"]), ("Reference", metrics["reference"]["validation"]["reliability"])])
    plot_shapes(art / "shape-functions.png", card, Xtr)
    (out / "MODEL_CARD.md").write_text(model_card(metrics, card, model_version), encoding="utf-8")

    print(f"{model_version}: validation AUC {val['auc']:.4f} (reference {metrics['reference']['validation']['auc']:.4f}), "
          f"KS {val['ks']:.4f}, Brier {val['brier']:.4f}, {rounds} rounds; parity max |dPD| {parity['maxAbsPdDiff']:.2e}; wrote {out}")


def check(data_path: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="credit-check-") as tmp:
        train(data_path, Path(tmp))
        return report(compare_roots(HERE, Path(tmp)), "the committed model")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, help=f"training CSV (default {dataset.SHARED_DATA}, else a fetched copy)")
    ap.add_argument("--fetch", action="store_true", help="download UCI dataset 350 and rebuild the training file first")
    ap.add_argument("--out", type=Path, default=HERE, help="output root: writes OUT/artifacts/* and OUT/MODEL_CARD.md (default models/credit)")
    ap.add_argument("--check", action="store_true", help="retrain into a temp dir and compare with the committed files within tolerance")
    args = ap.parse_args()
    if args.fetch:
        try:
            print(f"fetched {dataset.fetch()}")
        except RuntimeError as e:
            print(f"train.py: {e}", file=sys.stderr)
            return 1
    data = dataset.locate(args.data)
    if data is None:
        where = f"{dataset.SHARED_DATA} or {dataset.cached_copy()}"
        if args.check:
            print(f"model check skipped: no training data ({where} not found; `npm run model:credit -- --fetch` or --data PATH); "
                  "the committed parity vectors still test scoring in Node against the Python model")
            return 0
        print(f"train.py: no training data ({where} not found); pass --data PATH or --fetch", file=sys.stderr)
        return 1
    if args.check:
        return check(data.resolve())
    train(data.resolve(), args.out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
