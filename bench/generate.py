"""Write a benchmark corpus of realistic raw input, at any size.

    python bench/generate.py OUT_DIR --claims 100000 [--seed 1]

OUT_DIR receives:
  corpus/      Telegram-style channel dumps (posts with titles, speaker labels,
               doubled bodies, 'Forwarded from', reactions, hashtags, relative
               and yearless dates) and news articles (date lines, quotations
               with the attribution before and after, reported speech,
               pronouns, relative days), many posts per file
  ontology/    the project's ontology with several hundred generated speakers
               and topics added, so that KB_ONTOLOGY=OUT_DIR/ontology makes
               kb recognise them
Speakers and topics follow a long-tailed (Zipf) distribution: a few are
everywhere, most appear rarely.  The number of claims is approximate (it is
what the templates intend; the extractor finds what it finds).
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FIRST = ["Anna", "Boris", "Carlos", "Dmitry", "Elena", "Farid", "Grace", "Hiro", "Ivan", "Julia", "Kofi", "Lena",
         "Mikhail", "Nadia", "Omar", "Pavel", "Qing", "Rosa", "Sergei", "Tatiana", "Umar", "Vera", "Wei", "Ximena",
         "Yuri", "Zara", "Andrei", "Bianca", "Chen", "Daria"]
LAST = ["Petrov", "Kowalski", "Haddad", "Nakamura", "Okafor", "Silva", "Ivanova", "Larsen", "Moreau", "Novak",
        "Rahman", "Schmidt", "Tanaka", "Usmanov", "Volkov", "Weber", "Yilmaz", "Zhukov", "Abenov", "Bauer",
        "Costa", "Dubois", "Egorov", "Fischer", "Garcia", "Horvat", "Ismailov", "Jensen", "Kuznetsov", "Lopez"]
ROLES = ["Foreign Minister", "Deputy Foreign Minister", "Ambassador", "Defence Minister", "Presidential Aide",
         "Spokesperson", "Prime Minister", "Economy Minister", "Special Envoy", "Senator"]
COUNTRIES = ["Atlantis", "Borduria", "Carpania", "Drovnia", "Elbonia", "Freedonia", "Genovia", "Krakozhia",
             "Latveria", "Molvania", "Novistrana", "Ostravia", "Pottsylvania", "Qumar", "Ruritania", "Syldavia"]
SUBJECTS = ["grain exports", "a ceasefire", "energy prices", "the border agreement", "fishing rights",
            "the nuclear power plant", "visa rules", "the pipeline", "prisoner exchanges", "arms deliveries",
            "the trade corridor", "sanctions relief", "the peace plan", "refugee returns", "debt restructuring"]
VERBS = ["said", "stressed", "noted", "told reporters", "warned", "added", "emphasised", "stated"]
OPINIONS = ["remains committed to {s}", "will not accept any preconditions on {s}",
            "sees no alternative to talks on {s}", "expects progress on {s} within weeks",
            "considers the proposal on {s} a serious step", "is ready to discuss {s} at any level",
            "rejects the accusations about {s}", "calls for an end to the pressure over {s}"]
QUOTES = ["We are ready to work on {s} with everyone who is ready to work with us.",
          "Nobody should doubt our position on {s}.", "The situation around {s} is deteriorating.",
          "Our partners understand that {s} cannot be decided without us.",
          "There is no progress on {s}, and the other side is to blame.",
          "We have always supported a fair settlement of {s}."]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def zipf_choice(rng: random.Random, items: list, s: float = 1.1):
    weights = [1 / (i + 1) ** s for i in range(len(items))]
    return rng.choices(items, weights)[0]


def make_speakers(n: int, rng: random.Random) -> list[dict]:
    seen, out = set(), []
    while len(out) < n:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        country = rng.choice(COUNTRIES)
        name = f"{first} {last}"
        if name in seen:
            continue
        seen.add(name)
        key = f"bench-{first.lower()}-{last.lower()}"
        out.append({"key": key, "name": name, "last": last, "role": rng.choice(ROLES), "country": country})
    return out


def make_topics(n: int) -> list[dict]:
    out = []
    for i in range(n):
        word = f"Accord-{i:03d}"
        out.append({"key": f"bench-accord-{i:03d}", "label": f"the {word}", "word": word})
    return out


def write_ontology(out: Path, speakers: list[dict], topics: list[dict]) -> None:
    target = out / "ontology"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(ROOT / "ontology", target)
    with open(target / "speakers.ttl", "a", encoding="utf-8") as fh:
        fh.write("\n# ---- generated for the benchmark\n")
        for sp in speakers:
            fh.write(f'<speaker/{sp["key"]}> a schema:Person ;\n    schema:name "{sp["name"]}" ;\n'
                     f'    skos:altLabel "{sp["last"]}" ;\n    kb:role "{sp["role"]} of {sp["country"]}" .\n')
    with open(target / "topics.ttl", "a", encoding="utf-8") as fh:
        fh.write("\n# ---- generated for the benchmark\n")
        for tp in topics:
            fh.write(f'<topic/{tp["key"]}> a skos:Concept ; skos:inScheme <topics> ;\n'
                     f'    skos:prefLabel "{tp["word"]}"@en ;\n'
                     f'    skos:definition "A generated topic for the benchmark."@en ;\n'
                     f'    kb:pattern "\\\\b{tp["word"]}\\\\b" .\n')


def subject(rng, topics) -> str:
    tp = zipf_choice(rng, topics)
    return f"{rng.choice(SUBJECTS)} under {tp['label']}"


def telegram_post(rng, speakers, topics, day: dt.date, n_claims: int) -> str:
    sp = zipf_choice(rng, speakers)
    kind = rng.random()
    lines = [f"Forwarded from {sp['country']} MFA"] if rng.random() < 0.7 else []
    if kind < 0.5:  # a statement with a title and a doubled body
        title = (f"🎙 {sp['role']} {sp['name']}'s remarks at a press conference "
                 f"({rng.choice(COUNTRIES)}, {day:%B} {day.day}, {day.year})")
        body = [f"• {rng.choice(QUOTES).format(s=subject(rng, topics))}" for _ in range(n_claims)]
        lines += [title, "Key talking points:", *body, "Read in full", *body, "Read in full"]
    elif kind < 0.8:  # a speaker label
        body = [f"💬 {sp['name']}: {rng.choice(QUOTES).format(s=subject(rng, topics))}"]
        body += [rng.choice(QUOTES).format(s=subject(rng, topics)) for _ in range(n_claims - 1)]
        tag = f"#{rng.choice(COUNTRIES)}"
        lines += [f"📄 {sp['name']} spoke to journalists on {day:%B} {day.day}.", *body, tag, *body, tag]
    else:  # a readout with a yearless date
        other = zipf_choice(rng, speakers)
        first = f"🤝 On {day:%B} {day.day}, {sp['name']} held talks with {other['name']}."
        body = [f"The Ministers discussed {subject(rng, topics)}." for _ in range(n_claims)]
        lines += [first, *body, *body]
    lines.append(f"❤{rng.randint(1, 90)}")
    return "\n".join(lines)


def article(rng, speakers, topics, day: dt.date, n_claims: int) -> str:
    sp = zipf_choice(rng, speakers)
    other = zipf_choice(rng, speakers)
    paras = [f"{sp['last']} comments on {subject(rng, topics)}",
             f"{sp['country'].upper()}, {day:%B} {day.day}, {day.year} (Newswire) - "
             f"{sp['role']} {sp['name']} said on {WEEKDAYS[day.weekday() % 5]} that his country "
             f"{rng.choice(OPINIONS).format(s=subject(rng, topics))}."]
    for i in range(n_claims - 1):
        r = rng.random()
        if r < 0.3:
            paras.append(f"“{rng.choice(QUOTES).format(s=subject(rng, topics))[:-1]},” {sp['last']} "
                         f"{rng.choice(VERBS)}.")
        elif r < 0.5:
            paras.append(f"He {rng.choice(['also said', 'added'])} that the government "
                         f"{rng.choice(OPINIONS).format(s=subject(rng, topics))}.")
        elif r < 0.8:
            paras.append(f"{other['role']} {other['name']} {rng.choice(VERBS)} that {other['country']} "
                         f"{rng.choice(OPINIONS).format(s=subject(rng, topics))}.")
        else:
            paras.append(f"According to {other['name']}, {rng.choice(COUNTRIES)} "
                         f"{rng.choice(OPINIONS).format(s=subject(rng, topics))}.")
    return "\n\n".join(paras) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--claims", type=int, default=10_000)
    ap.add_argument("--speakers", type=int, default=400)
    ap.add_argument("--topics", type=int, default=300)
    ap.add_argument("--posts-per-file", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    speakers, topics = make_speakers(args.speakers, rng), make_topics(args.topics)
    write_ontology(args.out, speakers, topics)
    corpus = args.out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    made, file_no, day = 0, 0, dt.date(2023, 1, 1)
    while made < args.claims:
        telegram = file_no % 3 != 2
        posts = []
        for _ in range(args.posts_per_file if telegram else 1):
            n = rng.randint(1, 6)
            day += dt.timedelta(days=rng.random() < 0.3)
            posts.append(telegram_post(rng, speakers, topics, day, n) if telegram else article(rng, speakers, topics, day, n))
            made += n
            if made >= args.claims:
                break
        name = f"{file_no:06d}_{'tg' if telegram else 'news'}.txt"
        (corpus / name).write_text("\n".join(posts) + "\n", encoding="utf-8")
        file_no += 1
    print(f"{made} claims in {file_no} files under {corpus}; ontology in {args.out / 'ontology'}")


if __name__ == "__main__":
    main()
