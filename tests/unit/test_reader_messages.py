"""What the readers say about skipped input agrees in number with what was skipped."""

from core.corpus.readers import ReadOptions, Source, read_sources


def problems(name: str, data: str) -> list[str]:
    corpus = read_sources([Source(name, data.encode())], ReadOptions())
    return [p for r in corpus.reports for p in r.problems]


def test_one_skipped_line_is_singular():
    assert problems("one.jsonl", '{"text": "kept"}\nnot json\n[1]\n{"text": ""}') == [
        "line 2 is not valid JSON and was skipped.",
        "line 3 is not an object and was skipped.",
        "line 4 had no text in field 'text' and was skipped.",
    ]


def test_several_skipped_lines_are_plural_and_counted_past_the_first_few():
    lines = ['{"text": "kept"}'] + ['{"text": ""}'] * 10
    assert problems("many.jsonl", "\n".join(lines)) == [
        "lines 2, 3, 4, 5, 6, 7, 8, 9 and 2 more had no text in field 'text' and were skipped.",
    ]
