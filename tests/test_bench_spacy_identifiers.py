"""spaCy's extractor for the structured identifiers, the benchmark's alternative to the regex one
(bench/components/spacy_identifiers.py, compared by bench/entity_extractors.py; in no pipeline)."""
from bench.components.spacy_identifiers import spacy_identifiers


def test_spacy_and_regex_extractors_agree_on_the_basics():
    found = {(e["entity"], e["value"]) for e in spacy_identifiers("终端号10000002 参考号202611250002 尾号5678 错误码51")}
    assert found == {("terminal_id", "10000002"), ("reference_number", "202611250002"), ("card_tail", "5678"), ("error_code", "51")}
