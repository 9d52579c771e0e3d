"""`signpost eval FILE [--json]`: how well the bot sorts labelled messages, and above all whether it misses a crisis.

The input is JSON lines: ``{"text": "...", "labels": ["<concern>", ...]}`` with optional ``"crisis": true`` and
``"trap": true`` (see tests/data/README.md). A prediction is correct when it is any one of the row's labels.

Metrics (``evaluate`` is a pure function over (row, prediction) pairs, so it is tested without a model):

- accuracy: share of rows whose predicted concern is one of its labels.
- per concern precision, recall, F1 and support, and the confusion matrix, over one gold label per row: the
  prediction when it is acceptable, otherwise the row's first label (so a row with two acceptable labels is
  never counted as a miss of the one that wasn't predicted).
- macro-F1: the mean F1 over the concerns that occur as a gold label or a prediction.
- crisis recall: of the rows whose labels include immediate_danger or self_harm (or marked ``"crisis": true``),
  the share predicted as either crisis concern. A friend at risk predicted as friend_worried is a miss here.
- crisis false alarms: the other rows predicted as a crisis concern (count and list).
- trap false alarms: rows marked ``"trap": true`` (idioms, jokes, negations) predicted as a crisis concern.
- by case: where rows carry a ``"case"`` (tests/data/safety.jsonl: already_hurt, abuse, other_language ...), the
  accuracy and crisis recall of each case, so a weak kind of message is not hidden in the total.

Several files are compared side by side (``format_comparison``): the real young people's words beside the sets we
wrote ourselves.
"""

import json
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from bot.concerns import CONCERNS, CRISIS

Prediction = Union[str, Mapping[str, Any]]


def read_rows(lines: Iterable[str]) -> List[Dict[str, Any]]:
    """Parse and check labelled JSON lines; raises ValueError naming the first bad line."""
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"line {number}: not JSON ({error.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise ValueError(f'line {number}: expected an object with a "text" string')
        labels = row.get("labels")
        if not isinstance(labels, list) or not labels:
            raise ValueError(f'line {number}: expected a non-empty "labels" list')
        unknown = [label for label in labels if label not in CONCERNS]
        if unknown:
            raise ValueError(f"line {number}: unknown concern label(s) {unknown}")
        rows.append(row)
    return rows


def _concern(prediction: Prediction) -> str:
    return prediction if isinstance(prediction, str) else prediction["concern"]


def _is_crisis_row(row: Mapping[str, Any]) -> bool:
    return bool(row.get("crisis")) or any(label in CRISIS for label in row["labels"])


def _ratio(numerator: int, denominator: int) -> Optional[float]:
    return round(numerator / denominator, 4) if denominator else None


def _brief(row: Mapping[str, Any], predicted: str, prediction: Prediction) -> Dict[str, Any]:
    entry = {"text": row["text"], "labels": list(row["labels"]), "predicted": predicted}
    if not isinstance(prediction, str) and prediction.get("by"):
        entry["by"] = prediction["by"]
    return entry


def evaluate(pairs: Iterable[Tuple[Mapping[str, Any], Prediction]]) -> Dict[str, Any]:
    """The report for (row, prediction) pairs; a prediction is a concern name or a `classify` result dict."""
    scored = []
    for row, prediction in pairs:
        predicted = _concern(prediction)
        labels = list(row["labels"])
        gold = predicted if predicted in labels else labels[0]
        scored.append((row, prediction, predicted, gold))

    total = len(scored)
    correct = sum(predicted == gold for _, _, predicted, gold in scored)

    present = {gold for *_, gold in scored} | {predicted for _, _, predicted, _ in scored}
    order = [c for c in CONCERNS if c in present] + sorted(present - set(CONCERNS))
    index = {label: i for i, label in enumerate(order)}
    matrix = [[0] * len(order) for _ in order]
    for _, _, predicted, gold in scored:
        matrix[index[gold]][index[predicted]] += 1

    per_concern: Dict[str, Dict[str, Any]] = {}
    f1_scores = []
    for label in order:
        i = index[label]
        true_positive = matrix[i][i]
        support = sum(matrix[i])
        predicted_count = sum(r[i] for r in matrix)
        precision = true_positive / predicted_count if predicted_count else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        f1_scores.append(f1)
        per_concern[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": support,
            "predicted": predicted_count,
        }
    macro_f1 = sum(f1_scores) / len(f1_scores) if f1_scores else None

    crisis_rows = [(r, p, pred) for r, p, pred, _ in scored if _is_crisis_row(r)]
    caught = [x for x in crisis_rows if x[2] in CRISIS]
    missed = [_brief(r, pred, p) for r, p, pred in crisis_rows if pred not in CRISIS]
    false_alarms = [_brief(r, pred, p) for r, p, pred, _ in scored if not _is_crisis_row(r) and pred in CRISIS]
    trap_rows = [(r, p, pred) for r, p, pred, _ in scored if r.get("trap")]
    trap_alarms = [_brief(r, pred, p) for r, p, pred in trap_rows if pred in CRISIS]

    report = {
        "rows": total,
        "accuracy": _ratio(correct, total),
        "macro_f1": round(macro_f1, 4) if macro_f1 is not None else None,
        "per_concern": per_concern,
        "crisis": {
            "rows": len(crisis_rows),
            "caught": len(caught),
            "recall": _ratio(len(caught), len(crisis_rows)),
            "missed": missed,
        },
        "crisis_false_alarms": {"count": len(false_alarms), "rows": false_alarms},
        "trap_false_alarms": {"count": len(trap_alarms), "of": len(trap_rows), "rows": trap_alarms},
        "confusion": {"labels": order, "matrix": matrix},
    }
    cases = sorted({r["case"] for r, *_ in scored if r.get("case")})
    if cases:
        report["by_case"] = {case: _case_summary([s for s in scored if s[0].get("case") == case]) for case in cases}
    return report


def _case_summary(scored: Sequence[Tuple[Mapping[str, Any], Prediction, str, str]]) -> Dict[str, Any]:
    crisis = [pred for row, _, pred, _ in scored if _is_crisis_row(row)]
    return {
        "rows": len(scored),
        "accuracy": _ratio(sum(pred == gold for *_, pred, gold in scored), len(scored)),
        "crisis_rows": len(crisis),
        "crisis_recall": _ratio(sum(pred in CRISIS for pred in crisis), len(crisis)),
    }


def _number(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _short(label: str) -> str:
    return "".join(part[:3] for part in label.split("_"))[:6]


def format_report(report: Mapping[str, Any]) -> str:
    """The report as plain text for a terminal."""
    crisis = report["crisis"]
    lines = [
        f"rows: {report['rows']}",
        f"accuracy: {_number(report['accuracy'])}",
        f"macro-F1: {_number(report['macro_f1'])}",
        f"crisis recall: {_number(crisis['recall'])} ({crisis['caught']} of {crisis['rows']})",
        f"crisis false alarms: {report['crisis_false_alarms']['count']}",
        f"trap false alarms: {report['trap_false_alarms']['count']} of {report['trap_false_alarms']['of']} traps",
        "",
        f"{'concern':<20} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}",
    ]
    for label, m in report["per_concern"].items():
        lines.append(f"{label:<20} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>7.3f} {m['support']:>8}")
    labels: Sequence[str] = report["confusion"]["labels"]
    if labels:
        lines += ["", "confusion matrix (rows: expected, columns: predicted)"]
        width = max(6, *(len(str(n)) for row in report["confusion"]["matrix"] for n in row))
        lines.append(f"{'':<20} " + " ".join(f"{_short(label):>{width}}" for label in labels))
        for label, row in zip(labels, report["confusion"]["matrix"]):
            lines.append(f"{label:<20} " + " ".join(f"{n:>{width}}" for n in row))
    if report.get("by_case"):
        lines += ["", f"{'case':<20} {'rows':>5} {'accuracy':>9} {'crisis recall':>14}"]
        for case, c in report["by_case"].items():
            recall = f"{_number(c['crisis_recall'])} ({c['crisis_rows']})" if c["crisis_rows"] else "-"
            lines.append(f"{case:<20} {c['rows']:>5} {_number(c['accuracy']):>9} {recall:>14}")
    for title, entries in (
        ("missed crisis messages", crisis["missed"]),
        ("crisis false alarms", report["crisis_false_alarms"]["rows"]),
        ("trap false alarms", report["trap_false_alarms"]["rows"]),
    ):
        if entries:
            lines += ["", f"{title}:"]
            lines += [f"  [{e['predicted']}] {e['text']}  (expected {', '.join(e['labels'])})" for e in entries]
    return "\n".join(lines)


def format_comparison(reports: Mapping[str, Mapping[str, Any]]) -> str:
    """One line per labelled file: the headline figures side by side."""
    lines = [
        f"{'set':<24} {'rows':>5} {'accuracy':>9} {'macro-F1':>9} {'crisis recall':>16} "
        f"{'false alarms':>13} {'traps':>8}"
    ]
    for name, r in reports.items():
        crisis = f"{_number(r['crisis']['recall'])} ({r['crisis']['caught']}/{r['crisis']['rows']})"
        traps = f"{r['trap_false_alarms']['count']}/{r['trap_false_alarms']['of']}"
        lines.append(
            f"{name:<24} {r['rows']:>5} {_number(r['accuracy']):>9} {_number(r['macro_f1']):>9} {crisis:>16} "
            f"{r['crisis_false_alarms']['count']:>13} {traps:>8}"
        )
    return "\n".join(lines)


def format_json(report: Mapping[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2)


async def predict(engine: Any, rows: Iterable[Mapping[str, Any]]) -> List[Tuple[Mapping[str, Any], Dict[str, Any]]]:
    """Classify each row's text with the engine (`await engine.classify(text)`), in order."""
    return [(row, await engine.classify(row["text"])) for row in rows]


async def run(engine: Any, lines: Iterable[str]) -> Dict[str, Any]:
    """Read labelled lines, classify them and build the report."""
    return evaluate(await predict(engine, read_rows(lines)))
