"""Extraction rules, one (text, expected) case per rule, on texts that are not the seeds.

Documents are written to a temporary folder and read with the real reader,
so each case runs the same path as `kb ingest`.
"""
from __future__ import annotations

import pytest

from kb.extract import extract_claims
from kb.readers import read_document


def claims_of(tmp_path, text, name="doc.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    doc = read_document(path)
    claims = extract_claims(doc)
    for c in claims:  # the words are always the exact text at the offsets
        assert doc.text[c.start:c.end] == c.words
    return claims


def one(claims):
    assert len(claims) == 1, [(c.speaker.name, c.words) for c in claims]
    return claims[0]


ARTICLE = " date 2025-05-29 Some headline about talks\n\n{}\n"


@pytest.mark.parametrize("sentence, speaker, kind, words", [
    # quotation, then the attribution
    ("“We are ready to talk to anyone,” Peskov said.", "Dmitry Peskov", "direct", "We are ready to talk to anyone"),
    ("“We are ready to talk to anyone,” said Peskov.", "Dmitry Peskov", "direct", "We are ready to talk to anyone"),
    ("“The door is open,” Peskov told reporters.", "Dmitry Peskov", "direct", "The door is open"),
    # the attribution, then the words
    ("Kremlin spokesman Dmitry Peskov said that Russia remains ready for a settlement.",
     "Dmitry Peskov", "indirect", "Russia remains ready for a settlement"),
    ("Peskov said negotiations were still possible.", "Dmitry Peskov", "indirect", "negotiations were still possible"),
    ("Lavrov expressed hope that “everyone will support the new round.”", "Sergey Lavrov", "direct",
     "everyone will support the new round."),
    ("According to Foreign Ministry spokesperson Maria Zakharova, Moscow will host a roundtable next week.",
     "Maria Zakharova", "indirect", "Moscow will host a roundtable next week"),
    # verbs whose words are the verb and its object
    ("The Kremlin previously accused Kiev of lacking the will to negotiate.", "Kremlin", "indirect",
     "accused Kiev of lacking the will to negotiate"),
    ("Medinsky, who is also a presidential aide, refuted reports that he had called first.", "Vladimir Medinsky",
     "indirect", "refuted reports that he had called first"),
    # a clause before the attribution
    ("Russia and Ukraine can still resume talks, the Kremlin said Thursday.", "Kremlin", "indirect",
     "Russia and Ukraine can still resume talks"),
])
def test_sentence_rules(tmp_path, sentence, speaker, kind, words):
    c = one(claims_of(tmp_path, ARTICLE.format(sentence)))
    assert (c.speaker.name, c.kind, c.words) == (speaker, kind, words)
    assert c.speaker.key is not None


def test_quote_then_participle_gives_two_claims(tmp_path):
    text = ARTICLE.format("“We keep the door open,” Peskov said, cautioning that “quick results are unrealistic.”")
    got = [(c.kind, c.words) for c in claims_of(tmp_path, text)]
    assert got == [("direct", "We keep the door open"), ("direct", "quick results are unrealistic.")]


def test_two_attributions_in_one_sentence_are_cut_apart(tmp_path):
    text = ARTICLE.format("Peskov said talks were still possible one day after Foreign Minister Sergei Lavrov "
                          "said such talks made no sense.")
    got = [(c.speaker.name, c.words) for c in claims_of(tmp_path, text)]
    assert got == [("Dmitry Peskov", "talks were still possible"), ("Sergey Lavrov", "such talks made no sense")]


def test_pronouns_and_roles_refer_to_the_last_speaker_not_the_last_name(tmp_path):
    text = ARTICLE.format(
        "In February, Lavrov accused the Secretary-General António Guterres of bias. "
        "He also condemned the sanctions against Russian athletes.\n\n"
        "“Our delegation is ready,” the minister detailed.")
    got = [(c.speaker.name, c.evidence["resolved_by"]) for c in claims_of(tmp_path, text)]
    assert got == [("Sergey Lavrov", "name"), ("Sergey Lavrov", "pronoun"), ("Sergey Lavrov", "role")]


def test_reporting_agency_is_kept_apart_from_the_words(tmp_path):
    c = one(claims_of(tmp_path, ARTICLE.format("Peskov said that Moscow is open to dialogue, TASS reports.")))
    assert c.words == "Moscow is open to dialogue"
    assert c.reported_by == "TASS"


def test_told_names_the_outlet(tmp_path):
    c = one(claims_of(tmp_path, ARTICLE.format("“Nobody closed the door,” Peskov told the RIA Novosti news agency.")))
    assert c.reported_by == "RIA Novosti news agency"


@pytest.mark.parametrize("sentence, speaker, kind", [
    ("The Institute for Global Policy assessed that the offensive will stall.", "Institute for Global Policy", "Organization"),
    ("John Smith said that the offensive will stall.", "John Smith", "Person"),
])
def test_speaker_missing_from_the_speakers_file_is_recorded_unlinked(tmp_path, sentence, speaker, kind):
    c = one(claims_of(tmp_path, ARTICLE.format(sentence)))
    assert (c.speaker.name, c.speaker.key, c.speaker.kind) == (speaker, None, kind)


@pytest.mark.parametrize("sentence", [
    "Russia went to great lengths to make the Council effective.",
    "Kiev is reportedly discussing the offer.",
    "Russia has consistently made it clear that it wants peace.",  # a state, not a speaker
    "The minister's meetings are an opportunity to “compare notes” with deputies.",
])
def test_narration_is_not_a_claim(tmp_path, sentence):
    assert claims_of(tmp_path, ARTICLE.format(sentence)) == []


@pytest.mark.parametrize("sentence, date, method", [
    ("On Wednesday, Lavrov said that the talks would resume.", "2025-05-28", "resolved"),
    ("Earlier on Monday, Lavrov said that the talks would resume.", "2025-05-26", "resolved"),
    ("In February, Lavrov said that the talks would resume.", "2025-02", "resolved"),
    ("On May 2, 2024, Lavrov said that the talks would resume.", "2024-05-02", "stated"),
    ("Lavrov said that the talks would resume.", "2025-05-29", "published"),
])
def test_claim_dates_resolve_against_the_document_date(tmp_path, sentence, date, method):
    c = one(claims_of(tmp_path, ARTICLE.format(sentence)))
    assert (c.date.value, c.date.method) == (date, method)


def test_dates_in_the_reported_words_do_not_date_the_claim(tmp_path):
    c = one(claims_of(tmp_path, ARTICLE.format("Lavrov proposed holding the next round on Monday, June 2, in Istanbul.")))
    assert c.date.value == "2025-05-29"


def test_undated_article_gives_no_date(tmp_path):
    c = one(claims_of(tmp_path, "Some headline\n\nOn Wednesday, Lavrov said that the talks would resume.\n"))
    assert c.date is None


@pytest.mark.parametrize("sentence, topics", [
    ("Lavrov said that the next round of talks will be held in Istanbul on June 2.", {"istanbul-talks"}),
    ("Lavrov said that the Istanbul agreements are still on the table.", {"istanbul-talks"}),
    # near misses: the 1999 OSCE summit, a 'new start' in lower case
    ("Lavrov said that the OSCE documents adopted in Istanbul in 1999 must be respected.", set()),
    ("Lavrov said that relations need a new start.", set()),
    ("Lavrov said that the New START treaty expires in February.", {"new-start"}),
    ("Lavrov said that reforming the UN Security Council is overdue.", {"un-reform"}),
])
def test_tracked_topics_and_near_misses(tmp_path, sentence, topics):
    c = one(claims_of(tmp_path, ARTICLE.format(sentence)))
    tracked = {t.key for t in c.topics if t.key in ("istanbul-talks", "new-start", "un-reform")}
    assert tracked == topics
    for t in c.topics:
        assert t.method == "explicit" and 0 < t.confidence <= 1 and t.matched


# ---------------------------------------------------------------- channel dumps

def dump(*posts):
    """A Telegram dump: each post is (header, body lines), the body printed twice."""
    out = []
    for header, body in posts:
        out.append("Forwarded from Some Ministry")
        if header:
            out.append(header)
        out += body + ["Read in full"] + body + ["Read in full"]
    return "\n".join(out) + "\n"


def test_header_attribution_makes_every_paragraph_the_speakers_words(tmp_path):
    text = dump(("🎙 Foreign Minister Sergey Lavrov's remarks at a press conference (Moscow, March 3, 2026)",
                 ["Key talking points:", "💬 Thank you for coming today.",
                  "• The West has turned away from dialogue and we see it.", "#Diplomacy",
                  "☝️ We will keep working with our partners in Asia and Africa."]))
    got = [(c.speaker.name, c.kind, c.cue_type, c.words, c.date.value, c.date.method) for c in claims_of(tmp_path, text)]
    assert got == [
        ("Sergey Lavrov", "direct", "header", "The West has turned away from dialogue and we see it.", "2026-03-03", "stated"),
        ("Sergey Lavrov", "direct", "header", "We will keep working with our partners in Asia and Africa.", "2026-03-03", "stated"),
    ]


def test_speaker_label_and_unlinked_label(tmp_path):
    text = dump(("📄 A meeting took place.", ["💬 President Putin: Our economy is growing faster than expected.",
                                            "The budget is balanced this year as well."]),
                (None, ["💬 Jane Doe: Our region will keep its promises to the voters."]))
    got = [(c.speaker.name, c.speaker.key, c.cue_type) for c in claims_of(tmp_path, text)]
    assert got == [("Vladimir Putin", "vladimir-putin", "label"), ("Vladimir Putin", "vladimir-putin", "label"),
                   ("Jane Doe", None, "label")]


def test_signature_attributes_the_post_to_its_signer(tmp_path):
    text = dump((None, ["⚡️ On 19 September 2025, two aircraft made a scheduled flight over neutral waters.",
                        "The flight was conducted in strict accordance with international rules.",
                        "🔹 Russian Defence Ministry"]))
    got = [(c.speaker.name, c.cue_type, c.date.value) for c in claims_of(tmp_path, text)]
    assert got == [("Russian Ministry of Defence", "signature", "2025-09-19")] * 2


def test_readout_joint_statements_and_yearless_dates(tmp_path):
    text = dump(("🎙 Foreign Minister Sergey Lavrov's interview (Moscow, January 5, 2026)",
                 ["We will talk to everyone who wants to talk to us."]),
                (None, ["On January 10, Foreign Minister Sergey Lavrov spoke over the phone with Wang Yi.",
                        "The Ministers discussed the situation on the Korean Peninsula.",
                        "They noted that bilateral trade keeps growing fast."]),
                ("🎙 Foreign Minister Sergey Lavrov's remarks (Moscow, February 2, 2026)",
                 ["We have many friends in the Global South and in Asia."]))
    claims = claims_of(tmp_path, text)
    readout = [c for c in claims if c.cue_type == "readout"]
    assert [(c.speaker.name, [s.name for s in c.co_speakers], c.words) for c in readout] == [
        ("Sergey Lavrov", ["Wang Yi"], "discussed the situation on the Korean Peninsula"),
        ("Sergey Lavrov", ["Wang Yi"], "bilateral trade keeps growing fast"),
    ]
    assert {(c.date.value, c.date.method) for c in readout} == {("2026-01-10", "inferred")}


def test_formalities_are_skipped(tmp_path):
    text = dump(("🎙 Foreign Minister Sergey Lavrov's greetings to the forum (May 1, 2026)",
                 ["💬 I offer my greetings to the participants of the forum.",
                  "Sport brings nations together and keeps politics out of friendship.",
                  "I wish you all success and new victories."]))
    assert [c.words for c in claims_of(tmp_path, text)] == [
        "Sport brings nations together and keeps politics out of friendship."]


def test_topic_from_context_within_a_speech(tmp_path):
    text = dump(("🎙 Statement by President Vladimir Putin (September 22, 2025)",
                 ["💬 President Putin: The New START Treaty expires in February.",
                  "We are prepared to observe the treaty's central limits for one more year.",
                  "Our economy is doing well."]))
    got = [[(t.key, t.method) for t in c.topics if t.key == "new-start"] for c in claims_of(tmp_path, text)]
    assert got == [[("new-start", "explicit")], [("new-start", "context")], []]


def test_news_dateline_dates_the_article_and_appositives_are_skipped(tmp_path):
    text = ("Russia warns of response\n\n"
            "MOSCOW, June 3, 2025 (Reuters) - Foreign Minister Sergei Lavrov said on Monday that Moscow would respond.\n\n"
            "“We will not tolerate it,” Lavrov told reporters after the talks.\n\n"
            "Zelensky, speaking in Kyiv, called for more air defence systems.\n\n"
            "The European Commission said it would present new measures, according to a spokesperson.\n")
    path = tmp_path / "news.txt"
    path.write_text(text, encoding="utf-8")
    doc = read_document(path)
    assert doc.published == "2025-06-03"
    got = [(c.speaker.name, c.words, c.date.value, c.date.method, c.reported_by) for c in extract_claims(doc)]
    assert got == [
        ("Sergey Lavrov", "Moscow would respond", "2025-06-02", "resolved", None),
        ("Sergey Lavrov", "We will not tolerate it", "2025-06-02", "inferred", None),
        ("Volodymyr Zelensky", "called for more air defence systems", "2025-06-03", "published", None),
        ("European Commission", "it would present new measures", "2025-06-03", "published", "a spokesperson"),
    ]


def test_russian_title_names_the_speaker_in_the_genitive(tmp_path):
    text = ("⚡️ Заявление официального представителя МИД России М.В.Захаровой (16 мая 2025 года)\n"
            "💬 Мы неоднократно заявляли о готовности к продолжению переговоров в Стамбуле.\n"
            "Читать полностью\n"
            "💬 Мы неоднократно заявляли о готовности к продолжению переговоров в Стамбуле.\n"
            "Читать полностью\n"
            "👍 120\n")
    c = one(claims_of(tmp_path, text))
    assert (c.speaker.key, c.kind, c.cue_type, c.date.value, c.language) == (
        "maria-zakharova", "direct", "header", "2025-05-16", "ru")
    assert [t.key for t in c.topics if t.key == "istanbul-talks"] == ["istanbul-talks"]


def test_a_role_naming_an_organisation_is_a_person(tmp_path):
    text = ARTICLE.format("Kremlin spokesman Dmitry Peskov spoke to reporters. "
                          "According to the Kremlin official, Moscow remains open to a settlement.")
    c = one(claims_of(tmp_path, text))
    assert (c.speaker.name, c.words) == ("Dmitry Peskov", "Moscow remains open to a settlement")


def test_a_quoted_fragment_in_reported_speech_is_indirect(tmp_path):
    c = one(claims_of(tmp_path, ARTICLE.format("Zakharova noted that the West “continues to pump weapons into Ukraine.”")))
    assert (c.kind, c.words) == ("indirect", "the West “continues to pump weapons into Ukraine.”")


def test_transcript_labels_and_questions(tmp_path):
    text = ARTICLE.format("Question: Will the talks resume in Istanbul soon?\n\n"
                          "Sergey Lavrov: We are ready to resume the talks in Istanbul at any moment.\n\n"
                          "This depends on Kiev and on those who stand behind it.\n\n"
                          "Question: What about sanctions against Russian banks?\n\n"
                          "Maria Zakharova: Sanctions have never worked and they never will.")
    got = [(c.speaker.name, c.cue_type, c.words) for c in claims_of(tmp_path, text)]
    assert got == [
        ("Sergey Lavrov", "label", "We are ready to resume the talks in Istanbul at any moment."),
        ("Sergey Lavrov", "label", "This depends on Kiev and on those who stand behind it."),
        ("Maria Zakharova", "label", "Sanctions have never worked and they never will."),
    ]


def test_readout_with_a_counterpart_missing_from_the_speakers_file(tmp_path):
    text = dump((None, ["🇷🇺🇮🇳 On March 3, Foreign Minister Sergey Lavrov held talks with the External Affairs "
                        "Minister of India in Moscow.",
                        "The Ministers discussed cooperation within BRICS and the SCO."]))
    c = one(claims_of(tmp_path, text))
    assert (c.speaker.name, c.cue_type, c.words) == (
        "Sergey Lavrov", "readout", "discussed cooperation within BRICS and the SCO")


def test_the_lead_in_of_a_sentence_can_name_the_topic(tmp_path):
    text = ARTICLE.format("Commenting on UN reform, Lavrov said that the Security Council should be expanded.")
    c = one(claims_of(tmp_path, text))
    assert [(t.key, t.method, t.matched) for t in c.topics if t.key == "un-reform"] == [("un-reform", "context", "UN reform")]


def test_she_refers_back_to_the_last_woman_who_spoke(tmp_path):
    text = ARTICLE.format("Zakharova said that the roundtable would take place in Moscow. "
                          "Peskov said that the Kremlin would not comment. "
                          "She added that more than 100 ambassadors were invited.")
    got = [c.speaker.name for c in claims_of(tmp_path, text)]
    assert got == ["Maria Zakharova", "Dmitry Peskov", "Maria Zakharova"]


# ---------------------------------------------------------------- where topic patterns can start

@pytest.mark.parametrize("pattern, starts", [
    (r"\bAccord-017\b", ["Accord-017"]),
    (r"(?-i:New START)", ["New START"]),
    (r"\b(UN|United Nations)\b[^.;]{0,40}\breform", ["UN", "United Nation"]),  # re takes out the common "U"
    (r"Istanbul\W+(direct\W+)?talks", ["Istanbul"]),
    (r"\bUN-?80 initiative", ["UN"]),
    (r"[A-Z]{2,} summit", []),  # no literal start: searched whole
    (r"(?i:x)yz", []),  # a group that changes flags: searched whole
    (r"(a|[bc])d", []),  # an alternative with no literal start
])
def test_the_literal_starts_of_topic_patterns(pattern, starts):
    from kb.extract.topics import _literal_starts

    assert _literal_starts(pattern) == starts


def test_the_guard_finds_every_place_where_a_topic_pattern_matches():
    """explicit_topics looks only where the guard matches: it must match wherever some pattern does,
    whatever the case or the odd letters re folds (the long s, the Kelvin sign)."""
    import re

    from kb.extract.topics import _guard, _Starts

    parts = [r"\bAccord-017\b", r"(?-i:New START)", r"\b(UN|United Nations)\b[^.;]{0,40}\breform",
             r"sanctions?", r"[A-Z]{2,} summit", r"Договор[а-я]* о СНВ", r"kelvin"]
    text = ("accord-017 and ACCORD-017; New START, new start; the un plans reform; ſanctions; SANCTION; "
            "EU summit; договоры о СНВ; \u212aelvin; unrelated words. Accord-0170")
    guard, starts = _guard(parts), _Starts(parts)
    singles = [re.compile(p, re.IGNORECASE) for p in parts]
    for i, pattern in enumerate(singles):
        for at in range(len(text)):
            if pattern.match(text, at):
                assert guard.match(text, at), (parts[i], text[at:at + 20])
                found = starts.candidates(text, at)
                assert found is None or i in found, (parts[i], text[at:at + 20])
