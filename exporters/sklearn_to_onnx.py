#!/usr/bin/env python3
"""Export a trained scikit-learn model (pickle/joblib file) to ONNX.

Usage:
    .venv/bin/python exporters/sklearn_to_onnx.py --input model.joblib --output model.onnx \
        [--opset 17] [--name NAME]

The ONNX model has one input, ``features`` (float32, shape [None, n_features_in_]).
Classifiers are converted without ZipMap, so every output is a plain tensor
(``label`` int64 [N] and ``probabilities`` float32 [N, n_classes]).

Progress goes to stdout. On failure exactly one line beginning
``sklearn_to_onnx: `` is written to stderr, naming the file and the reason, and
the exit status is:
    2  bad input: the file is missing, unreadable, not a pickle of a fitted
       scikit-learn estimator, or skl2onnx cannot convert it (also bad CLI usage)
    1  anything else (e.g. the output cannot be written, an unexpected bug)

SECURITY: loading a pickle/joblib file EXECUTES CODE embedded in the file.
Only pass artifacts produced by a trusted training job; never run this on a
file from an untrusted source.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

PROG = "sklearn_to_onnx"
EXIT_BAD_INPUT = 2
EXIT_UNEXPECTED = 1
ML_OPSET = 3  # ai.onnx.ml domain opset used alongside the default domain


class ExportError(Exception):
    def __init__(self, message: str, code: int = EXIT_BAD_INPUT):
        super().__init__(message)
        self.code = code


def _one_line(exc: BaseException) -> str:
    """Short single-line description of an exception (skl2onnx messages can be long)."""
    text = str(exc).strip()
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if len(first) > 300:
        first = first[:297] + "..."
    name = type(exc).__name__
    return f"{name}: {first}" if first else name


def _progress(msg: str) -> None:
    print(f"{PROG}: {msg}", flush=True)


def _warning_to_stdout(message, category, filename, lineno, file=None, line=None):
    # Keep stderr reserved for the single error line; surface warnings
    # (e.g. sklearn InconsistentVersionWarning) as progress lines instead.
    text = " ".join(str(message).split())
    _progress(f"warning: {category.__name__}: {text}")


def load_model(path: str):
    if not os.path.exists(path):
        raise ExportError(f"{path}: no such file")
    if not os.path.isfile(path):
        raise ExportError(f"{path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise ExportError(f"{path}: not readable (permission denied)")

    import joblib  # imported lazily so --help works without the heavy deps

    # NOTE: this unpickles the file, which runs arbitrary code from it.
    # Only trusted artifacts may be given to this exporter.
    try:
        model = joblib.load(path)
    except Exception as exc:  # corrupt / not a pickle / missing class: all bad input
        raise ExportError(f"{path}: cannot load as a joblib/pickle file ({_one_line(exc)})") from exc

    from sklearn.base import BaseEstimator

    if not isinstance(model, BaseEstimator):
        raise ExportError(
            f"{path}: not a scikit-learn estimator (loaded a {type(model).__module__}.{type(model).__qualname__})"
        )
    n = getattr(model, "n_features_in_", None)
    if n is None:
        raise ExportError(
            f"{path}: {type(model).__name__} has no n_features_in_ (is it fitted?)"
        )
    try:
        n = int(n)
    except (TypeError, ValueError) as exc:
        raise ExportError(f"{path}: invalid n_features_in_ {n!r}") from exc
    if n <= 0:
        raise ExportError(f"{path}: invalid n_features_in_ {n}")
    return model, n


def _dedupe_opset_imports(onx) -> None:
    """Keep one opset_import entry per domain (the highest version).

    skl2onnx treats target_opset as an upper bound and declares the lowest
    opset the converted operators need; with zipmap=False it has also been seen
    to list the default domain twice. Duplicates pass the checker and load in
    onnxruntime, but downstream readers should see one entry per domain.
    """
    best: dict[str, int] = {}
    for imp in onx.opset_import:
        best[imp.domain] = max(best.get(imp.domain, 0), imp.version)
    if len(best) == len(onx.opset_import):
        return
    del onx.opset_import[:]
    for domain in sorted(best):
        entry = onx.opset_import.add()
        entry.domain = domain
        entry.version = best[domain]


def convert(model, n_features: int, opset: int, name: str, path: str):
    from sklearn.base import is_classifier
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    # zipmap=False: probabilities come out as a float tensor rather than a
    # sequence of maps. For a Pipeline, skl2onnx passes this option on to its
    # classifier step.
    options = {id(model): {"zipmap": False}} if is_classifier(model) else None
    try:
        onx = convert_sklearn(
            model,
            name=name,
            initial_types=[("features", FloatTensorType([None, n_features]))],
            target_opset={"": opset, "ai.onnx.ml": ML_OPSET},
            options=options,
        )
    except Exception as exc:
        raise ExportError(
            f"{path}: skl2onnx cannot convert {type(model).__name__} ({_one_line(exc)})"
        ) from exc

    import onnx

    _dedupe_opset_imports(onx)
    try:
        onnx.checker.check_model(onx)
    except Exception as exc:
        raise ExportError(
            f"{path}: converted {type(model).__name__} fails the ONNX checker ({_one_line(exc)})"
        ) from exc
    return onx


def write_atomic(data: bytes, output: str) -> None:
    tmp = output + ".tmp"
    try:
        parent = os.path.dirname(os.path.abspath(output))
        os.makedirs(parent, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, output)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise ExportError(f"{output}: cannot write output ({_one_line(exc)})", EXIT_UNEXPECTED) from exc


def run(args: argparse.Namespace) -> None:
    model, n = load_model(args.input)
    _progress(f"loaded {type(model).__module__}.{type(model).__name__} from {args.input} ({n} features)")

    name = args.name or os.path.splitext(os.path.basename(args.input))[0] or "model"
    _progress(
        f"converting with skl2onnx (opset {args.opset}, ai.onnx.ml {ML_OPSET}, name {name!r})"
    )
    onx = convert(model, n, args.opset, name, args.input)
    ins = ", ".join(i.name for i in onx.graph.input)
    outs = ", ".join(o.name for o in onx.graph.output)
    opsets = ", ".join(f"{i.domain or 'ai.onnx'} {i.version}" for i in onx.opset_import)
    _progress(f"converted: inputs [{ins}] outputs [{outs}] opset_import [{opsets}]")

    data = onx.SerializeToString()
    write_atomic(data, args.output)
    _progress(f"wrote {len(data)} bytes to {args.output}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="sklearn_to_onnx.py",
        description="Convert a trained scikit-learn model (joblib/pickle) to ONNX. "
        "WARNING: unpickling runs code from the file; only use trusted artifacts.",
    )
    p.add_argument("--input", required=True, help="path to the joblib/pickle file")
    p.add_argument("--output", required=True, help="path of the .onnx file to write")
    p.add_argument("--opset", type=int, default=17, help="ai.onnx opset (default 17)")
    p.add_argument("--name", default=None, help="ONNX graph name (default: input file stem)")
    args = p.parse_args(argv)
    if args.opset < 1:
        p.error(f"--opset must be a positive integer, got {args.opset}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)  # argparse exits 2 on usage errors
    warnings.showwarning = _warning_to_stdout
    try:
        run(args)
    except ExportError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr, flush=True)
        return exc.code
    except KeyboardInterrupt:
        print(f"{PROG}: {args.input}: interrupted", file=sys.stderr, flush=True)
        return 130
    except Exception as exc:  # unexpected: keep it to one line, exit 1
        print(f"{PROG}: {args.input}: unexpected error ({_one_line(exc)})", file=sys.stderr, flush=True)
        return EXIT_UNEXPECTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
