"""Compares a retrained credit model with the committed one, number by number, with stated tolerances.

Training is deterministic on one machine, but floating-point sums may round differently on another CPU (other SIMD
paths in numpy, LightGBM or ONNX Runtime), so a retrain elsewhere can differ in the last bits of a float. A byte
comparison calls that a different model; this one does not, and still fails for any real change: another tree,
threshold, feature, value, count, rate or wording.

Tolerances (see models/credit/README.md, "Reproducibility"):
* every float in the JSON artifacts and the ONNX graph: relative 1e-9 (absolute 1e-12 near zero); observed
  cross-CPU differences are about 1e-16 relative. Split thresholds in the ONNX graph, integers, strings, keys,
  list lengths and the model version must be equal.
* what ONNX Runtime computes in float32 (`ortPd`, the `parity` block of metrics.json): absolute 1e-6, the parity
  contract itself; float32 sums may take other SIMD paths on another CPU.
* MODEL_CARD.md: the text with its numbers taken out must be equal; integers must be equal; a number printed with
  decimals may differ by one unit in its last printed place (a value on a rounding edge); numbers printed in
  scientific notation are the float32 parity figures, compared within 1e-6.
* PNG plots: same size and mode, and at most 0.5 % of pixels differ (a last-bit difference moves no pixel; a real
  change of the model moves whole curves, and is caught in the JSON anyway).

Usage: python models/credit/compare.py EXPECTED_ROOT ACTUAL_ROOT   (each holding artifacts/ and MODEL_CARD.md)
       python models/credit/compare.py --version-of CONTRIBUTIONS_JSON   (prints the model version of a table)
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from PIL import Image, ImageChops

MODEL_NAME = "credit-gam"
MODEL_SEMVER = "1.0.0"
VERSION_SIGNIFICANT_DIGITS = 8

REL_TOL = 1e-9
ABS_TOL = 1e-12
FLOAT32_ABS_TOL = 1e-6
PNG_MAX_CHANGED_SHARE = 0.005

CHECKED_FILES = [
    "artifacts/credit-scorecard.onnx",
    "artifacts/contributions.json",
    "artifacts/parity-vectors.json",
    "artifacts/metrics.json",
    "artifacts/roc.png",
    "artifacts/calibration.png",
    "artifacts/shape-functions.png",
    "MODEL_CARD.md",
]

# JSON paths (dotted, list indices dropped) computed by ONNX Runtime in float32.
FLOAT32_PATHS = {"parity-vectors.json": ("ortPd",), "metrics.json": ("parity",)}


# ------------------------------------------------------------------------------------------------- model version


def _rounded(obj):
    """The table with every float rounded to VERSION_SIGNIFICANT_DIGITS significant digits (as text)."""
    if isinstance(obj, float):
        return f"{obj:.{VERSION_SIGNIFICANT_DIGITS}g}"
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rounded(v) for v in obj]
    return obj


def model_version(table: dict) -> str:
    """`credit-gam-<semver>+<12 hex>`: the sha256 of the contribution tables (features, thresholds, values,
    intercept, Platt a and b) with floats rounded to 8 significant digits, so a last-bit difference from another CPU
    keeps the version while any real change of the model gives a new one."""
    body = {k: v for k, v in table.items() if k != "modelVersion"}
    digest = hashlib.sha256(json.dumps(_rounded(body), sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return f"{MODEL_NAME}-{MODEL_SEMVER}+{digest[:12]}"


# ---------------------------------------------------------------------------------------------------- comparison


def close(a: float, b: float, rel: float = REL_TOL, abs_: float = ABS_TOL) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def compare_json(expected, actual, path: str, float32_prefixes: tuple[str, ...], out: list[str]) -> None:
    key = re.sub(r"\[\d+\]", "", path)
    if isinstance(expected, bool) or isinstance(actual, bool) or expected is None or actual is None or isinstance(expected, str):
        if expected != actual:
            out.append(f"{path}: {expected!r} != {actual!r}")
    elif isinstance(expected, int) and isinstance(actual, int):
        if expected != actual:
            out.append(f"{path}: {expected} != {actual}")
    elif isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        f32 = any(key == p or key.startswith(p + ".") for p in float32_prefixes)
        ok = abs(expected - actual) <= FLOAT32_ABS_TOL if f32 else close(float(expected), float(actual))
        if not ok:
            out.append(f"{path}: {expected!r} != {actual!r}")
    elif isinstance(expected, dict) and isinstance(actual, dict):
        if sorted(expected) != sorted(actual):
            out.append(f"{path or '.'}: keys {sorted(expected)} != {sorted(actual)}")
            return
        for k in expected:
            compare_json(expected[k], actual[k], f"{path}.{k}" if path else k, float32_prefixes, out)
    elif isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            out.append(f"{path}: length {len(expected)} != {len(actual)}")
            return
        for i, (e, a) in enumerate(zip(expected, actual)):
            compare_json(e, a, f"{path}[{i}]", float32_prefixes, out)
    else:
        out.append(f"{path}: {type(expected).__name__} != {type(actual).__name__}")


def compare_onnx(expected: Path, actual: Path, out: list[str]) -> None:
    e, a = onnx.load(str(expected)), onnx.load(str(actual))
    for field in ("ir_version", "producer_name", "producer_version", "doc_string"):
        if getattr(e, field) != getattr(a, field):
            out.append(f"{field}: {getattr(e, field)!r} != {getattr(a, field)!r}")
    if [(o.domain, o.version) for o in e.opset_import] != [(o.domain, o.version) for o in a.opset_import]:
        out.append("opset imports differ")
    eg, ag = e.graph, a.graph
    for field in ("input", "output"):
        if [str(x) for x in getattr(eg, field)] != [str(x) for x in getattr(ag, field)]:
            out.append(f"graph {field}s differ")
    if len(eg.node) != len(ag.node):
        out.append(f"graph: {len(eg.node)} nodes != {len(ag.node)}")
        return
    for en, an in zip(eg.node, ag.node):
        where = f"node {en.name}"
        if (en.op_type, en.domain, en.name, list(en.input), list(en.output)) != (an.op_type, an.domain, an.name, list(an.input), list(an.output)):
            out.append(f"{where}: signature differs")
            continue
        ea, aa = {x.name: x for x in en.attribute}, {x.name: x for x in an.attribute}
        if sorted(ea) != sorted(aa):
            out.append(f"{where}: attributes {sorted(ea)} != {sorted(aa)}")
            continue
        for name, x in ea.items():
            ev, av = onnx.helper.get_attribute_value(x), onnx.helper.get_attribute_value(aa[name])
            # Split thresholds come from the data (exact); leaf weights are computed (float32 of a float64).
            exact = name != "target_weights"
            if isinstance(ev, list) and ev and isinstance(ev[0], float):
                if len(ev) != len(av):
                    out.append(f"{where}.{name}: length {len(ev)} != {len(av)}")
                elif exact and ev != av:
                    out.append(f"{where}.{name}: values differ")
                elif not exact:
                    bad = [i for i, (p, q) in enumerate(zip(ev, av)) if not close(p, q, rel=1e-6, abs_=1e-9)]
                    if bad:
                        out.append(f"{where}.{name}[{bad[0]}]: {ev[bad[0]]!r} != {av[bad[0]]!r} ({len(bad)} differ)")
            elif ev != av:
                out.append(f"{where}.{name} differs")
    ei, ai = {t.name: numpy_helper.to_array(t) for t in eg.initializer}, {t.name: numpy_helper.to_array(t) for t in ag.initializer}
    if sorted(ei) != sorted(ai):
        out.append(f"initializers {sorted(ei)} != {sorted(ai)}")
    else:
        for name, ev in ei.items():
            av = ai[name]
            if ev.dtype != av.dtype or ev.shape != av.shape:
                out.append(f"initializer {name}: {ev.dtype}{ev.shape} != {av.dtype}{av.shape}")
            elif ev.dtype.kind == "f" and not np.allclose(ev, av, rtol=1e-6, atol=1e-9):
                out.append(f"initializer {name}: {ev.tolist()} != {av.tolist()}")
            elif ev.dtype.kind != "f" and not np.array_equal(ev, av):
                out.append(f"initializer {name}: {ev.tolist()} != {av.tolist()}")
    em, am = {p.key: p.value for p in e.metadata_props}, {p.key: p.value for p in a.metadata_props}
    if sorted(em) != sorted(am):
        out.append(f"metadata keys {sorted(em)} != {sorted(am)}")
    else:
        for k, ev in em.items():
            same = close(float(ev), float(am[k])) if k == "intercept" else ev == am[k]
            if not same:
                out.append(f"metadata {k}: {ev!r} != {am[k]!r}")


NUMBER = re.compile(r"[-−+]?\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?")


def _number(token: str) -> tuple[float, int | None, bool]:
    """(value, decimals printed or None for an integer, scientific?)"""
    t = token.replace("−", "-").replace(",", "")
    mantissa, _, exp = t.partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else None
    return float(t), decimals, bool(exp)


def compare_text(expected: str, actual: str, out: list[str]) -> None:
    if NUMBER.sub("#", expected) != NUMBER.sub("#", actual):
        el, al = NUMBER.sub("#", expected).splitlines(), NUMBER.sub("#", actual).splitlines()
        first = next((i for i, (x, y) in enumerate(zip(el, al)) if x != y), min(len(el), len(al)))
        out.append(f"text differs at line {first + 1}")
        return
    for line_no, (el, al) in enumerate(zip(expected.splitlines(), actual.splitlines()), start=1):
        for et, at in zip(NUMBER.findall(el), NUMBER.findall(al)):
            if et == at:
                continue
            (ev, ed, es), (av, ad, as_) = _number(et), _number(at)
            if es or as_:
                ok = abs(ev - av) <= FLOAT32_ABS_TOL
            elif ed is None or ad is None or ed != ad:
                ok = False
            else:
                ok = abs(ev - av) <= 10.0 ** -ed * 1.000001
            if not ok:
                out.append(f"line {line_no}: {et} != {at}")


def compare_png(expected: Path, actual: Path, out: list[str]) -> None:
    with Image.open(expected) as e, Image.open(actual) as a:
        if e.size != a.size or e.mode != a.mode:
            out.append(f"image {e.size} {e.mode} != {a.size} {a.mode}")
            return
        diff = ImageChops.difference(e.convert("RGBA"), a.convert("RGBA"))
        changed = int(np.count_nonzero(np.asarray(diff).any(axis=-1)))
        share = changed / (e.size[0] * e.size[1])
        if share > PNG_MAX_CHANGED_SHARE:
            out.append(f"{changed} pixels ({100 * share:.2f} %) differ")


def compare_file(rel: str, expected_root: Path, actual_root: Path) -> list[str]:
    e, a = expected_root / rel, actual_root / rel
    if not e.is_file() or not a.is_file():
        return [f"missing: {e if not e.is_file() else a}"]
    out: list[str] = []
    if rel.endswith(".json"):
        compare_json(json.loads(e.read_text("utf-8")), json.loads(a.read_text("utf-8")), "", FLOAT32_PATHS.get(Path(rel).name, ()), out)
    elif rel.endswith(".onnx"):
        compare_onnx(e, a, out)
    elif rel.endswith(".png"):
        compare_png(e, a, out)
    else:
        compare_text(e.read_text("utf-8"), a.read_text("utf-8"), out)
    return out


def compare_roots(expected_root: Path, actual_root: Path) -> dict[str, list[str]]:
    """Differences per checked file (files that match are absent)."""
    return {rel: diffs for rel in CHECKED_FILES if (diffs := compare_file(rel, expected_root, actual_root))}


def report(differences: dict[str, list[str]], label: str) -> int:
    for rel, diffs in differences.items():
        shown = "; ".join(diffs[:3]) + (f"; and {len(diffs) - 3} more" if len(diffs) > 3 else "")
        print(f"differs: models/credit/{rel}: {shown}")
    print(f"check: {len(CHECKED_FILES) - len(differences)} of {len(CHECKED_FILES)} files match {label} within tolerance")
    return 1 if differences else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("expected", nargs="?", type=Path)
    ap.add_argument("actual", nargs="?", type=Path)
    ap.add_argument("--version-of", type=Path, help="print the model version derived from a contributions.json")
    args = ap.parse_args()
    if args.version_of:
        print(model_version(json.loads(args.version_of.read_text("utf-8"))))
        return 0
    if not args.expected or not args.actual:
        ap.error("EXPECTED_ROOT and ACTUAL_ROOT are required")
    return report(compare_roots(args.expected, args.actual), f"{args.expected}")


if __name__ == "__main__":
    sys.exit(main())
