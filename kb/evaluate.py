"""Scoring extracted claims against a gold annotation (``kb evaluate GOLD.json``).

The same matching and metrics as the shared evaluation script, which reads
the CSV of ``kb query claims``; here the rows come straight from the store.

A predicted claim matches a gold claim of the same file when at least half
of the gold quote's words (or of one of its ``alt_quotes``) and at least
half of the predicted quote's words are shared; pairs are made one-to-one,
best Dice coefficient first.  Reported: detection and attribution
precision/recall/F1, date accuracy over matched gold claims that have a
date (a gold 'YYYY-MM' matches any day of that month), and micro P/R/F1 of
(claim, topic) pairs for the named topics over matched claims.

Gold format: a list of ``{"file": …, "claims": [{"speaker", "date",
"topics", "kind", "quote", "alt_quotes"?}, …]}``.
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from .errors import InputError

NAMED_TOPICS = frozenset({"new start", "istanbul talks", "un reform"})
MISSED_SHOWN = 15
_WORD = re.compile(r"\w+", re.UNICODE)


def fold(text: str | None) -> str:
    """Lower case without accents ('Sergéy' -> 'sergey')."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def words(text: str | None) -> list[str]:
    return _WORD.findall(fold(text))


def same_speaker(gold: str, predicted: str) -> bool:
    """The same surname, or at least half of the name words shared (Sergei/Sergey Lavrov)."""
    g, p = set(words(gold)), set(words(predicted))
    if not g or not p:
        return False
    return words(gold)[-1] in p or len(g & p) / len(g | p) >= 0.5


def topic_key(label: str) -> str:
    return fold(label).strip()


@dataclass
class Predicted:
    file: str
    speaker: str
    date: str | None
    quote: str
    topics: set[str] = field(default_factory=set)


def predictions(rows: Iterable[Mapping[str, str]]) -> dict[str, list[Predicted]]:
    """Rows of the ``claims`` query (one per claim and topic) as claims per file name."""
    claims: dict[object, Predicted] = {}
    for n, row in enumerate(rows):
        key = row.get("claim") or ("row", n)
        document = (row.get("document") or "").rstrip("/")
        claim = claims.get(key)
        if claim is None:
            claim = claims[key] = Predicted(
                file=re.split(r"[/#:]", document)[-1],
                speaker=row.get("speakerName") or "",
                date=(row.get("date") or "")[:10] or None,
                quote=row.get("quote") or "")
        labels = row.get("topicLabel")
        if labels is None:  # no topicLabel column: topics joined by '|'
            labels = row.get("topics") or ""
        claim.topics.update(topic_key(t) for t in labels.split("|") if t.strip())
    per_file: dict[str, list[Predicted]] = defaultdict(list)
    for claim in claims.values():
        per_file[claim.file].append(claim)
    return per_file


def prf(tp: int, n_predicted: int, n_gold: int) -> tuple[float, float, float]:
    p = tp / n_predicted if n_predicted else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return round(p, 3), round(r, 3), round(f, 3)


def _dice(gold_variants: list[set[str]], predicted: set[str]) -> float:
    """Best Dice coefficient over the gold wordings that share half of both sides' words."""
    best = 0.0
    for gw in gold_variants:
        if not gw or not predicted:
            continue
        shared = len(gw & predicted)
        if shared / len(gw) >= 0.5 and shared / len(predicted) >= 0.5:
            best = max(best, 2 * shared / (len(gw) + len(predicted)))
    return best


def match(gold: list[dict], predicted: list[Predicted]) -> list[tuple[dict, Predicted]]:
    """One-to-one pairs (gold claim, predicted claim), best Dice first."""
    predicted_words = [set(words(p.quote)) for p in predicted]
    candidates = []
    for gi, g in enumerate(gold):
        variants = [set(words(q)) for q in [g["quote"], *g.get("alt_quotes", [])]]
        for pi, pw in enumerate(predicted_words):
            score = _dice(variants, pw)
            if score:
                candidates.append((score, gi, pi))
    candidates.sort(reverse=True)
    used_gold, used_predicted, pairs = set(), set(), []
    for _, gi, pi in candidates:
        if gi not in used_gold and pi not in used_predicted:
            used_gold.add(gi)
            used_predicted.add(pi)
            pairs.append((gold[gi], predicted[pi]))
    return pairs


def score(gold_docs: list[dict], per_file: Mapping[str, list[Predicted]]) -> dict:
    n_gold = n_predicted = n_matched = n_attributed = n_dated = n_date_right = 0
    topic_tp = topic_predicted = topic_gold = 0
    missed = []
    for doc in gold_docs:
        gold, predicted = doc["claims"], per_file.get(doc["file"], [])
        pairs = match(gold, predicted)
        n_gold += len(gold)
        n_predicted += len(predicted)
        n_matched += len(pairs)
        found = {id(g) for g, _ in pairs}
        missed += [(doc["file"], g["speaker"], g["quote"][:80]) for g in gold if id(g) not in found]
        for g, p in pairs:
            n_attributed += same_speaker(g["speaker"], p.speaker)
            if g.get("date"):
                n_dated += 1
                n_date_right += (p.date or "").startswith(g["date"])
            gold_topics = {topic_key(t) for t in g.get("topics", [])} & NAMED_TOPICS
            predicted_topics = p.topics & NAMED_TOPICS
            topic_tp += len(gold_topics & predicted_topics)
            topic_predicted += len(predicted_topics)
            topic_gold += len(gold_topics)
    return {
        "gold_claims": n_gold, "predicted_claims": n_predicted, "matched": n_matched,
        "detection_p_r_f1": prf(n_matched, n_predicted, n_gold),
        "attribution_p_r_f1": prf(n_attributed, n_predicted, n_gold),
        "dated_matched": n_dated,
        "date_accuracy": round(n_date_right / n_dated, 3) if n_dated else 0.0,
        "topic_p_r_f1": prf(topic_tp, topic_predicted, topic_gold),
        "missed_examples": missed[:MISSED_SHOWN],
    }


def load_gold(path) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as fh:
            gold = json.load(fh)
    except OSError as exc:
        raise InputError(path, exc.strerror or str(exc)) from None
    except ValueError as exc:
        raise InputError(path, f"not JSON: {exc}") from None
    well_formed = isinstance(gold, list) and all(
        isinstance(doc, dict) and isinstance(doc.get("file"), str) and isinstance(doc.get("claims"), list)
        and all(isinstance(c, dict) and isinstance(c.get("quote"), str) and isinstance(c.get("speaker"), str)
                for c in doc["claims"])
        for doc in gold)
    if not well_formed:
        raise InputError(path, "not a gold file: expected a list of {file, claims: [{speaker, quote, …}]}")
    return gold


def evaluate(gold_path, rows: Iterable[Mapping[str, str]]) -> dict:
    """Scores of ``rows`` (the claims query as {column: value}) against the gold file."""
    return score(load_gold(gold_path), predictions(rows))


def report(result: dict) -> str:
    """The scores as text, one 'name: value' a line, the missed claims, a summary line."""
    lines = [f"{k}: {v}" for k, v in result.items() if k != "missed_examples"]
    lines += [" ".join(["missed:", *m]) for m in result["missed_examples"]]
    lines.append(f"attribution F1 {result['attribution_p_r_f1'][2]} · date accuracy "
                 f"{result['date_accuracy']} · topic F1 {result['topic_p_r_f1'][2]}")
    return "\n".join(lines) + "\n"
