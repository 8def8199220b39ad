"""Pure GitHub renderings: markers, escaping, fences, cutting, placement."""

from __future__ import annotations

from bot.change import Change, DiffLine, FileChange, Hunk
from bot.findings import Finding, Severity
from bot.render import github as render


def hunk(start: int, added: list[int], context: list[int]) -> Hunk:
    lines = [DiffLine("+" if n in added else " ", None if n in added else n, n, "x")
             for n in sorted(added + context)]
    return Hunk(start, len(context), start, len(lines), tuple(lines))


CHANGE = Change("b" * 40, "h" * 40, (
    FileChange("a.py", "modified", hunks=(hunk(1, [2], [1, 3]), hunk(9, [10, 11], [9, 12]))),
    FileChange("gone.py", "deleted"),
    FileChange("logo.png", "added", binary=True),
))


def finding(path: str, line: int, end: int | None = None) -> Finding:
    return Finding(path, line, end or line, "r", Severity.LOW, "m", "semgrep", "ab12cd")


def test_markers_are_read_only_at_the_start():
    body = "<!-- bastion:review sha=abc -->\n<!-- bastion:resolved=ab12cd,ff00ff -->\ntext"
    quoted = "text\n<!-- bastion:review sha=abc -->"

    assert render.reviewed_sha(body) == "abc"
    assert render.marked_fingerprints(body, "resolved") == {"ab12cd", "ff00ff"}
    assert render.reviewed_sha(quoted) is None
    assert render.reviewed_sha(None) is None


def test_placement_follows_the_hunks():
    assert render.place(finding("a.py", 2), CHANGE) == render.Placement("a.py", 2)
    assert render.place(finding("a.py", 10, 12), CHANGE) == render.Placement("a.py", 12, 10)
    assert render.place(finding("a.py", 2, 10), CHANGE) == render.Placement("a.py", 10)
    assert render.place(finding("a.py", 2, 6), CHANGE) == render.Placement("a.py", 2)
    assert render.place(finding("a.py", 6), CHANGE) is None
    assert render.place(finding("gone.py", 1), CHANGE) is None
    assert render.place(finding("logo.png", 1), CHANGE) is None
    assert render.place(finding("other.py", 1), CHANGE) is None


def test_fences_and_code_spans_outlast_backticks():
    assert render.fenced("a ```` b", "suggestion").startswith("`````suggestion\n")
    assert render.fenced("plain") == "```\nplain\n```"
    assert render.code_span("a`b") == "`` a`b ``"
    assert render.code_span("a.py:3") == "`a.py:3`"


def test_escape_defuses_html_mentions_and_hidden_characters():
    text = "<img src=x> @team \u202e"
    assert render.escape(text) == "&lt;img src=x&gt; &#64;team \N{REPLACEMENT CHARACTER}"


def test_fit_cuts_at_a_line_and_says_so():
    text = "\n".join(f"line {n}" for n in range(1000))

    cut = render.fit(text, 200, "(cut)")

    assert len(cut) <= 200 and cut.endswith("\n\n(cut)")
    assert cut.split("\n")[-3].startswith("line ")
    assert render.fit("short", 200, "(cut)") == "short"


def test_annotations_are_levelled_by_the_threshold():
    findings = [Finding("a.py", 1, 3, "r1", Severity.HIGH, "m", "semgrep", "f1"),
                Finding("a.py", 2, 2, "r2", Severity.MEDIUM, "m", "semgrep", "f2"),
                Finding("a.py", 3, 3, "r3", Severity.LOW, "m", "semgrep", "f3")]

    notes = render.check_annotations(findings, Severity.HIGH)

    assert [n["annotation_level"] for n in notes] == ["failure", "warning", "notice"]
    assert (notes[0]["start_line"], notes[0]["end_line"]) == (1, 3)
    assert [len(b) for b in render.batches(notes * 40)] == [50, 50, 20]
