"""The git layer against real repositories built with the git command line."""

from __future__ import annotations

import time
from pathlib import Path

import pygit2
import pytest

from bot.change import Change, FileChange, Hunk
from bot.gitdiff import (
    EMPTY_TREE,
    GitError,
    diff_range,
    diff_staged,
    diff_trees,
    open_repository,
    resolve_commit,
)
from tests.gitrepo import GitRepo, git_repo, make_git_repo  # noqa: F401

REGULAR = 0o100644
EXECUTABLE = 0o100755
SYMLINK = 0o120000
GITLINK = 0o160000

Row = tuple[str, int | None, int | None, str]


def numbered(count: int, prefix: str = "line") -> str:
    return "".join(f"{prefix} {n}\n" for n in range(1, count + 1))


def rows(hunk: Hunk) -> list[Row]:
    """Flatten a hunk to (origin, old line, new line, content) rows."""
    return [(ln.origin, ln.old_lineno, ln.new_lineno, ln.content) for ln in hunk.lines]


def all_rows(change: FileChange) -> list[Row]:
    return [row for hunk in change.hunks for row in rows(hunk)]


def last_change(repo: GitRepo) -> Change:
    """Diff the last commit against its parent."""
    return diff_range(open_repository(repo.root), "HEAD~1", "HEAD")


def only_file(change: Change) -> FileChange:
    assert len(change.files) == 1, [fc.path for fc in change.files]
    return change.files[0]


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:  # noqa: F811
    """Return a repository with one commit holding README.md."""
    git_repo.write("README.md", "# project\n")
    git_repo.commit_all("start")
    return git_repo


def test_added_file_numbers_every_line_from_one(repo: GitRepo) -> None:
    repo.write("src/app.py", "import os\n\nprint(os.getcwd())\n")
    repo.commit_all("add app")

    fc = only_file(last_change(repo))

    assert (fc.path, fc.status, fc.old_path) == ("src/app.py", "added", None)
    assert (fc.old_mode, fc.new_mode) == (0, REGULAR)
    assert all_rows(fc) == [
        ("+", None, 1, "import os"),
        ("+", None, 2, ""),
        ("+", None, 3, "print(os.getcwd())"),
    ]
    assert fc.hunks[0].header == "@@ -0,0 +1,3 @@"
    assert fc.new_data == b"import os\n\nprint(os.getcwd())\n"


def test_modified_line_keeps_old_and_new_numbers_apart(repo: GitRepo) -> None:
    repo.write("b.py", numbered(10))
    repo.commit_all("add b")
    repo.write("b.py", "first\nsecond\n" + numbered(10).replace("line 5\n", "LINE 5\n"))
    repo.commit_all("edit b")

    fc = only_file(last_change(repo))

    assert (fc.path, fc.status) == ("b.py", "modified")
    assert [(h.old_start, h.old_lines, h.new_start, h.new_lines) for h in fc.hunks] == [
        (1, 8, 1, 10)
    ]
    assert all_rows(fc) == [
        ("+", None, 1, "first"),
        ("+", None, 2, "second"),
        (" ", 1, 3, "line 1"),
        (" ", 2, 4, "line 2"),
        (" ", 3, 5, "line 3"),
        (" ", 4, 6, "line 4"),
        ("-", 5, None, "line 5"),
        ("+", None, 7, "LINE 5"),
        (" ", 6, 8, "line 6"),
        (" ", 7, 9, "line 7"),
        (" ", 8, 10, "line 8"),
    ]
    assert fc.added_lines == {1, 2, 7}
    assert fc.commentable_lines == set(range(1, 11))


def test_distant_edits_make_separate_hunks(repo: GitRepo) -> None:
    repo.write("b.py", numbered(30))
    repo.commit_all("add b")
    text = numbered(30).replace("line 3\n", "line three\n")
    repo.write("b.py", text.replace("line 25\n", "line twenty-five\n"))
    repo.commit_all("edit b")

    fc = only_file(last_change(repo))

    assert [(h.new_start, h.new_lines) for h in fc.hunks] == [(1, 6), (22, 7)]
    assert fc.added_lines == {3, 25}
    assert rows(fc.hunks[1])[2] == (" ", 24, 24, "line 24")
    assert fc.hunk_at(25) is fc.hunks[1]
    assert fc.hunk_at(15) is None


def test_context_lines_option_narrows_hunks(repo: GitRepo) -> None:
    repo.write("b.py", numbered(10))
    repo.commit_all("add b")
    repo.write("b.py", numbered(10).replace("line 7\n", "line seven\n"))
    repo.commit_all("edit b")

    narrow = diff_range(open_repository(repo.root), "HEAD~1", "HEAD", context_lines=0)
    wide = diff_range(open_repository(repo.root), "HEAD~1", "HEAD", context_lines=1)

    assert all_rows(only_file(narrow)) == [
        ("-", 7, None, "line 7"),
        ("+", None, 7, "line seven"),
    ]
    context = [row for row in all_rows(only_file(wide)) if row[0] == " "]
    assert context == [(" ", 6, 6, "line 6"), (" ", 8, 8, "line 8")]


def test_exact_rename_has_no_hunks(repo: GitRepo) -> None:
    repo.write("old/name.py", numbered(20))
    repo.commit_all("add")
    repo.move("old/name.py", "new/name.py")
    repo.commit_all("move")

    fc = only_file(last_change(repo))

    assert (fc.path, fc.status, fc.old_path) == ("new/name.py", "renamed", "old/name.py")
    assert fc.similarity == 100
    assert fc.hunks == ()
    assert fc.new_data == numbered(20).encode()


def test_rename_with_edit_shows_the_edit(repo: GitRepo) -> None:
    repo.write("util.py", numbered(20))
    repo.commit_all("add")
    repo.remove("util.py")
    repo.write("helpers.py", numbered(20).replace("line 12\n", "line twelve\n"))
    repo.commit_all("rename and edit")

    fc = only_file(last_change(repo))

    assert (fc.path, fc.status, fc.old_path) == ("helpers.py", "renamed", "util.py")
    assert fc.similarity is not None and 50 <= fc.similarity < 100
    assert fc.added_lines == {12}
    assert [row for row in all_rows(fc) if row[0] != " "] == [
        ("-", 12, None, "line 12"),
        ("+", None, 12, "line twelve"),
    ]


def test_deleted_file_lists_removed_lines(repo: GitRepo) -> None:
    repo.write("gone.py", "a = 1\nb = 2\n")
    repo.commit_all("add")
    repo.remove("gone.py")
    repo.commit_all("delete")

    fc = only_file(last_change(repo))

    assert (fc.path, fc.status, fc.old_path) == ("gone.py", "deleted", None)
    assert (fc.old_mode, fc.new_mode) == (REGULAR, 0)
    assert fc.new_data is None
    assert all_rows(fc) == [("-", 1, None, "a = 1"), ("-", 2, None, "b = 2")]
    assert fc.added_lines == frozenset()
    assert fc.commentable_lines == frozenset()


def test_added_and_deleted_binary_files(repo: GitRepo) -> None:
    repo.write("old.bin", b"\x00\x01\x02" * 10)
    repo.commit_all("add old")
    repo.remove("old.bin")
    # The NUL byte sits past the first line: only the content check finds it.
    repo.write("logo.png", b"\x89PNG\r\n\x1a\n" + b"text\n" * 50 + b"\x00IEND")
    repo.commit_all("swap binaries")

    files = {fc.path: fc for fc in last_change(repo).files}

    assert sorted(files) == ["logo.png", "old.bin"]
    added, deleted = files["logo.png"], files["old.bin"]
    assert (added.status, added.binary, added.hunks, added.new_data) == (
        "added", True, (), None
    )
    assert (deleted.status, deleted.binary, deleted.hunks, deleted.new_data) == (
        "deleted", True, (), None
    )


def test_text_file_turned_binary_has_no_hunks(repo: GitRepo) -> None:
    repo.write("data.txt", "plain\n")
    repo.commit_all("add")
    repo.write("data.txt", b"plain\n\x00\xff\xfe")
    repo.commit_all("corrupt")

    fc = only_file(last_change(repo))

    assert (fc.status, fc.binary, fc.hunks, fc.new_data) == ("modified", True, (), None)


def test_repository_attributes_cannot_hide_code(repo: GitRepo) -> None:
    repo.write(".gitattributes", "*.py binary\n*.dat diff\n")
    repo.commit_all("attributes")
    repo.write("evil.py", "import os\nos.system(cmd)\n")
    repo.write("blob.dat", b"text\n\x00\x01\n")
    repo.commit_all("code marked binary, binary marked text")

    files = {fc.path: fc for fc in last_change(repo).files}

    code, data = files["evil.py"], files["blob.dat"]
    assert (code.binary, code.added_lines) == (False, {1, 2})
    assert code.new_data == b"import os\nos.system(cmd)\n"
    assert (data.binary, data.hunks, data.new_data) == (True, (), None)


def test_binary_turned_text_adds_every_line(repo: GitRepo) -> None:
    repo.write("tool", b"\x7fELF\x00\x00\x01")
    repo.commit_all("add binary")
    repo.write("tool", "#!/bin/sh\nrm -rf /tmp/x\n")
    repo.commit_all("replace with a script")

    fc = only_file(last_change(repo))

    assert (fc.status, fc.binary) == ("modified", False)
    assert all_rows(fc) == [("+", None, 1, "#!/bin/sh"), ("+", None, 2, "rm -rf /tmp/x")]
    assert fc.hunks[0].header == "@@ -0,0 +1,2 @@"
    assert fc.new_data == b"#!/bin/sh\nrm -rf /tmp/x\n"


def test_mode_change_alone_has_no_hunks(repo: GitRepo) -> None:
    repo.write("run.sh", "#!/bin/sh\necho hi\n")
    repo.commit_all("add")
    repo.chmod("run.sh", 0o755)
    repo.commit_all("make executable")

    fc = only_file(last_change(repo))

    assert (fc.status, fc.old_mode, fc.new_mode) == ("modified", REGULAR, EXECUTABLE)
    assert fc.hunks == ()
    assert fc.new_data == b"#!/bin/sh\necho hi\n"


def test_symlink_carries_its_target(repo: GitRepo) -> None:
    repo.symlink("current", "releases/v2")
    repo.commit_all("link")

    fc = only_file(last_change(repo))

    assert (fc.path, fc.status, fc.symlink, fc.new_mode) == (
        "current", "added", True, SYMLINK
    )
    assert fc.new_data == b"releases/v2"
    assert all_rows(fc) == [("+", None, 1, "releases/v2")]


def test_submodule_pointer_change_has_no_content(repo: GitRepo) -> None:
    first = repo.rev_parse("HEAD")
    repo.add_submodule_pointer("vendor/lib", first)
    second = repo.commit("add submodule")
    repo.add_submodule_pointer("vendor/lib", second)
    repo.commit("bump submodule")

    fc = only_file(last_change(repo))

    assert (fc.path, fc.status, fc.submodule) == ("vendor/lib", "modified", True)
    assert (fc.old_mode, fc.new_mode) == (GITLINK, GITLINK)
    assert (fc.hunks, fc.new_data, fc.binary) == ((), None, False)


def test_file_replaced_by_submodule_has_no_content(repo: GitRepo) -> None:
    repo.write("vendor/lib", "placeholder\n")
    pointer = repo.commit_all("add placeholder")
    repo.git("rm", "-q", "--cached", "vendor/lib")
    repo.remove("vendor/lib")
    repo.add_submodule_pointer("vendor/lib", pointer)
    repo.commit("vendor the library")

    fc = only_file(last_change(repo))

    assert (fc.path, fc.status, fc.submodule) == ("vendor/lib", "typechange", True)
    assert (fc.old_mode, fc.new_mode) == (REGULAR, GITLINK)
    assert (fc.hunks, fc.new_data) == ((), None)


def test_file_replaced_by_symlink_is_a_type_change(repo: GitRepo) -> None:
    repo.write("config.py", "DEBUG = True\nHOST = 'x'\n")
    repo.commit_all("add")
    repo.symlink("config.py", "settings/prod.py")
    repo.commit_all("link config")

    fc = only_file(last_change(repo))

    assert (fc.path, fc.status, fc.symlink) == ("config.py", "typechange", True)
    assert (fc.old_mode, fc.new_mode) == (REGULAR, SYMLINK)
    assert fc.new_data == b"settings/prod.py"
    assert all_rows(fc) == [
        ("-", 1, None, "DEBUG = True"),
        ("-", 2, None, "HOST = 'x'"),
        ("+", None, 1, "settings/prod.py"),
    ]
    assert fc.hunks[0].header == "@@ -1,2 +1 @@"


def test_symlink_replaced_by_file_adds_every_line(repo: GitRepo) -> None:
    repo.symlink("config.py", "settings/prod.py")
    repo.commit_all("link")
    repo.write("config.py", "DEBUG = False\nsettings = 1\n")
    repo.commit_all("real file")

    fc = only_file(last_change(repo))

    assert (fc.status, fc.symlink, fc.old_mode, fc.new_mode) == (
        "typechange", False, SYMLINK, REGULAR
    )
    assert fc.added_lines == {1, 2}
    assert all_rows(fc)[0] == ("-", 1, None, "settings/prod.py")
    assert fc.new_data == b"DEBUG = False\nsettings = 1\n"


def test_crlf_lines_lose_their_line_ends(repo: GitRepo) -> None:
    repo.write("win.py", b"a = 1\r\nb = 2\r\nc = 3\r\n")
    repo.commit_all("add")
    repo.write("win.py", b"a = 1\r\nb = 20\r\nc = 3\r\nd = 4\r\n")
    repo.commit_all("edit")

    fc = only_file(last_change(repo))

    assert all_rows(fc) == [
        (" ", 1, 1, "a = 1"),
        ("-", 2, None, "b = 2"),
        ("+", None, 2, "b = 20"),
        (" ", 3, 3, "c = 3"),
        ("+", None, 4, "d = 4"),
    ]
    assert fc.new_data == b"a = 1\r\nb = 20\r\nc = 3\r\nd = 4\r\n"


def test_undecodable_text_keeps_raw_bytes(repo: GitRepo) -> None:
    repo.write("latin.txt", b"caf\xe9\n")
    repo.commit_all("add")
    repo.write("latin.txt", b"caf\xe9\nna\xefve\n")
    repo.commit_all("edit")

    fc = only_file(last_change(repo))

    assert fc.binary is False
    assert all_rows(fc) == [(" ", 1, 1, "caf\ufffd"), ("+", None, 2, "na\ufffdve")]
    assert fc.new_data == b"caf\xe9\nna\xefve\n"
    assert fc.new_text() is None


def test_empty_files(repo: GitRepo) -> None:
    repo.write("full.py", "x = 1\n")
    repo.commit_all("add")
    repo.write("empty.py", b"")
    repo.write("full.py", b"")
    repo.commit_all("empty both")

    files = {fc.path: fc for fc in last_change(repo).files}

    empty, emptied = files["empty.py"], files["full.py"]
    assert (empty.status, empty.hunks, empty.new_data, empty.binary) == (
        "added", (), b"", False
    )
    assert (emptied.status, emptied.new_data) == ("modified", b"")
    assert all_rows(emptied) == [("-", 1, None, "x = 1")]


def test_missing_final_newline_is_not_a_line(repo: GitRepo) -> None:
    repo.write("tail.py", "a = 1\nb = 2")
    repo.commit_all("add")
    repo.write("tail.py", "a = 1\nb = 2\nc = 3")
    repo.commit_all("append")

    fc = only_file(last_change(repo))

    assert all_rows(fc) == [
        (" ", 1, 1, "a = 1"),
        ("-", 2, None, "b = 2"),
        ("+", None, 2, "b = 2"),
        ("+", None, 3, "c = 3"),
    ]
    assert fc.hunks[0].new_lines == 3


def test_whitespace_only_change_is_a_change(repo: GitRepo) -> None:
    repo.write("ws.py", "def f():\n    return 1\n")
    repo.commit_all("add")
    repo.write("ws.py", "def f():\n\treturn 1 \n")
    repo.commit_all("tabs")

    fc = only_file(last_change(repo))

    assert all_rows(fc) == [
        (" ", 1, 1, "def f():"),
        ("-", 2, None, "    return 1"),
        ("+", None, 2, "\treturn 1 "),
    ]


def test_files_are_sorted_by_path(repo: GitRepo) -> None:
    for path in ("z.py", "a/b/c.py", "m.py", "a/a.py"):
        repo.write(path, "x = 1\n")
    repo.commit_all("many")

    paths = [fc.path for fc in last_change(repo).files]

    assert paths == ["a/a.py", "a/b/c.py", "m.py", "z.py"]


def test_range_diffs_from_the_merge_base(repo: GitRepo) -> None:
    fork = repo.rev_parse("HEAD")
    repo.branch("feature")
    repo.write("main_only.py", "later = True\n")
    main_tip = repo.commit_all("on main after the fork")
    repo.checkout("feature")
    repo.write("feature.py", "new = 1\n")
    feature_tip = repo.commit_all("feature work")

    change = diff_range(open_repository(repo.root), "main", "feature")

    assert [fc.path for fc in change.files] == ["feature.py"]
    assert (change.base, change.head, change.merge_base) == (main_tip, feature_tip, fork)


def test_range_accepts_tags_short_shas_and_ancestry(repo: GitRepo) -> None:
    start = repo.rev_parse("HEAD")
    repo.git("tag", "-a", "v1", "-m", "release")
    repo.write("a.py", "a = 1\n")
    repo.commit_all("one")
    repo.write("b.py", "b = 1\n")
    tip = repo.commit_all("two")
    git = open_repository(repo.root)

    change = diff_range(git, "v1", tip[:10])

    assert [fc.path for fc in change.files] == ["a.py", "b.py"]
    assert (change.base, change.head) == (start, tip)
    assert str(resolve_commit(git, "HEAD~2").id) == start
    assert str(resolve_commit(git, "main").id) == tip


def test_unknown_revision_is_named(repo: GitRepo) -> None:
    git = open_repository(repo.root)

    with pytest.raises(GitError, match=r"^unknown revision: no-such-branch$"):
        diff_range(git, "main", "no-such-branch")
    with pytest.raises(GitError, match=r"^unknown revision: HEAD~5$"):
        resolve_commit(git, "HEAD~5")


def test_revision_that_is_not_a_commit(repo: GitRepo) -> None:
    with pytest.raises(GitError, match=r"^not a commit: HEAD:README.md is a blob$"):
        resolve_commit(open_repository(repo.root), "HEAD:README.md")


def test_unrelated_histories_have_no_merge_base(repo: GitRepo) -> None:
    repo.git("checkout", "-q", "--orphan", "island")
    repo.write("other.py", "x = 1\n")
    repo.commit_all("unrelated root")

    with pytest.raises(GitError, match=r"^no merge base between main and island$"):
        diff_range(open_repository(repo.root), "main", "island")


def test_non_repository_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()

    with pytest.raises(GitError, match=r"^not a git repository: .*plain$"):
        open_repository(plain)


def test_repository_is_found_from_a_subfolder(repo: GitRepo) -> None:
    repo.write("deep/er/x.py", "x = 1\n")

    git = open_repository(repo.root / "deep" / "er")

    assert Path(git.workdir).resolve() == repo.root.resolve()


def test_staged_diff_ignores_unstaged_edits(repo: GitRepo) -> None:
    repo.write("app.py", "a = 1\n")
    head = repo.commit_all("add")
    repo.write("app.py", "a = 1\nb = 2\n")
    repo.stage("app.py")
    repo.write("app.py", "a = 1\nb = 2\nc = 3\n")
    repo.write("untracked.py", "u = 1\n")

    change = diff_staged(open_repository(repo.root))

    fc = only_file(change)
    assert (fc.path, fc.status) == ("app.py", "modified")
    assert fc.added_lines == {2}
    assert fc.new_data == b"a = 1\nb = 2\n"
    assert (change.base, change.head) == (head, repo.git("write-tree"))
    assert change.merge_base is None


def test_staged_diff_before_the_first_commit(git_repo: GitRepo) -> None:  # noqa: F811
    git_repo.write("first.py", "print('hello')\n")
    git_repo.stage("first.py")

    change = diff_staged(open_repository(git_repo.root))

    fc = only_file(change)
    assert (fc.path, fc.status) == ("first.py", "added")
    assert all_rows(fc) == [("+", None, 1, "print('hello')")]
    assert change.base == EMPTY_TREE
    assert change.head == git_repo.git("write-tree")


def test_staged_diff_sees_a_stage_made_after_opening(repo: GitRepo) -> None:
    git = open_repository(repo.root)
    assert diff_staged(git).files == ()

    repo.write("late.py", "late = 1\n")
    repo.stage("late.py")

    assert [fc.path for fc in diff_staged(git).files] == ["late.py"]


def test_diff_trees_from_nothing_adds_everything(repo: GitRepo) -> None:
    git = open_repository(repo.root)
    tree = git.head.peel(pygit2.Commit).tree

    files = diff_trees(git, None, tree)

    assert [(fc.path, fc.status) for fc in files] == [("README.md", "added")]
    assert all_rows(files[0]) == [("+", None, 1, "# project")]


def test_fifty_thousand_lines_diff_quickly(repo: GitRepo) -> None:
    body = "".join(f"value_{n} = compute({n}, 'text')\n" for n in range(50_000))
    repo.write("generated.py", body)
    repo.commit_all("generated")
    git = open_repository(repo.root)

    started = time.perf_counter()
    change = diff_range(git, "HEAD~1", "HEAD")
    seconds = time.perf_counter() - started

    fc = only_file(change)
    assert len(fc.hunks[0].lines) == 50_000
    assert fc.hunks[0].lines[-1].new_lineno == 50_000
    assert fc.hunks[0].lines[-1].content == "value_49999 = compute(49999, 'text')"
    # Measured about 0.2 s on a shared two-core machine.
    assert seconds < 1.0, f"diff took {seconds:.2f} s"


def test_staged_diff_refuses_an_unmerged_index(repo: GitRepo) -> None:
    repo.write("clash.py", "x = 0\n")
    repo.commit_all("base")
    repo.branch("other")
    repo.write("clash.py", "x = 1\n")
    repo.commit_all("ours")
    repo.checkout("other")
    repo.write("clash.py", "x = 2\n")
    repo.commit_all("theirs")
    with pytest.raises(RuntimeError, match="merge"):
        repo.git("merge", "-q", "main")

    with pytest.raises(GitError, match=r"^the index has unresolved merge conflicts$"):
        diff_staged(open_repository(repo.root))


def test_bare_repository_has_ranges_but_no_index(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.write("a.py", "a = 1\n")
    tip = repo.commit_all("one")
    repo.git("clone", "-q", "--bare", str(repo.root), str(tmp_path / "bare.git"))
    bare = open_repository(tmp_path / "bare.git")

    assert diff_range(bare, "HEAD~1", "HEAD").head == tip
    with pytest.raises(GitError, match=r"^a bare repository has no index: .*bare\.git/$"):
        diff_staged(bare)
