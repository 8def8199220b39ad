"""The structure step: which function or class a line of a changed file is in.

Grammars come from the per-language tree-sitter wheels, load on first use and
stay loaded for the life of the process. Tree-sitter counts bytes; this module
speaks only of 1-based line numbers and slices text by lines, so a file with
non-ASCII characters keeps its line numbers.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePosixPath

from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

ANONYMOUS = "<anonymous>"

# Kinds of scope a function directly inside of is a method.
_MEMBER_OF = frozenset({"class", "struct", "interface", "trait", "impl", "enum", "record"})

_JS_SCOPES = """
[(function_declaration) (generator_function_declaration)
 (function_expression) (generator_function) (arrow_function)] @function
(method_definition) @method
[(class_declaration) (class)] @class
"""

_TS_SCOPES = _JS_SCOPES + """
(abstract_class_declaration) @class
(interface_declaration) @interface
(enum_declaration) @enum
"""

_C_SCOPES = """
(function_definition) @function
(struct_specifier body: (_)) @struct
"""


@dataclass(frozen=True)
class _Grammar:
    """Where a language's grammar lives and which of its nodes are scopes."""

    module: str
    factory: str
    scopes: str
    # Parents whose range a scope takes: decorators, templates, export.
    wrappers: frozenset[str] = frozenset()
    # Siblings just before a scope that belong to it, such as Rust attributes.
    leading: frozenset[str] = frozenset()


# TODO: namespaces (C++, C#, PHP, TypeScript) are not scopes, so two classes
# of one name in two namespaces share a qualified name.
_GRAMMARS: Mapping[str, _Grammar] = {
    "python": _Grammar(
        "tree_sitter_python", "language",
        "(function_definition) @function (class_definition) @class",
        wrappers=frozenset({"decorated_definition"}),
    ),
    "javascript": _Grammar(
        "tree_sitter_javascript", "language", _JS_SCOPES,
        wrappers=frozenset({"export_statement"}),
    ),
    "typescript": _Grammar(
        "tree_sitter_typescript", "language_typescript", _TS_SCOPES,
        wrappers=frozenset({"export_statement"}),
    ),
    "tsx": _Grammar(
        "tree_sitter_typescript", "language_tsx", _TS_SCOPES,
        wrappers=frozenset({"export_statement"}),
    ),
    "go": _Grammar(
        "tree_sitter_go", "language",
        """[(function_declaration) (func_literal)] @function
        (method_declaration) @method
        [(type_spec) (type_alias)] @type""",
    ),
    "java": _Grammar(
        "tree_sitter_java", "language",
        """(method_declaration) @method
        (constructor_declaration) @constructor
        (class_declaration) @class (record_declaration) @record
        [(interface_declaration) (annotation_type_declaration)] @interface
        (enum_declaration) @enum""",
    ),
    "ruby": _Grammar(
        "tree_sitter_ruby", "language",
        """[(method) (singleton_method)] @method
        (class) @class (module) @module""",
    ),
    "php": _Grammar(
        "tree_sitter_php", "language_php",
        """[(function_definition) (anonymous_function) (arrow_function)] @function
        (method_declaration) @method
        (class_declaration) @class (interface_declaration) @interface
        (trait_declaration) @trait (enum_declaration) @enum""",
    ),
    "c": _Grammar("tree_sitter_c", "language", _C_SCOPES),
    "cpp": _Grammar(
        "tree_sitter_cpp", "language",
        _C_SCOPES + "(class_specifier body: (_)) @class",
        wrappers=frozenset({"template_declaration"}),
    ),
    "rust": _Grammar(
        "tree_sitter_rust", "language",
        """(function_item) @function (impl_item) @impl (trait_item) @trait
        (struct_item) @struct (enum_item) @enum
        (mod_item body: (_)) @module""",
        leading=frozenset({"attribute_item"}),
    ),
    "csharp": _Grammar(
        "tree_sitter_c_sharp", "language",
        """[(method_declaration) (destructor_declaration)
         (operator_declaration)] @method
        (constructor_declaration) @constructor
        (local_function_statement) @function
        (property_declaration) @property
        (class_declaration) @class (struct_declaration) @struct
        (interface_declaration) @interface (record_declaration) @record
        (enum_declaration) @enum""",
    ),
    "bash": _Grammar("tree_sitter_bash", "language", "(function_definition) @function"),
}

LANGUAGES = frozenset(_GRAMMARS)

_EXTENSIONS = {
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go", ".java": "java", ".rb": "ruby", ".php": "php",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp",
    ".rs": "rust", ".cs": "csharp", ".sh": "bash", ".bash": "bash",
}

_INTERPRETERS = {
    "python": "python", "pypy": "python", "node": "javascript",
    "nodejs": "javascript", "bash": "bash", "sh": "bash", "dash": "bash",
    "ruby": "ruby", "php": "php",
}

# Semgrep reads TSX with its TypeScript parser; the other names agree.
_SEMGREP_NAMES = {"tsx": "typescript"}

_INTERPRETER_NAME = re.compile(r"([a-z]+)[0-9.]*")

# Nodes that can name the variable, key or field a function is assigned to.
_NAME_TYPES = frozenset({
    "identifier", "property_identifier", "private_property_identifier",
    "string", "variable_name", "field_identifier",
})

# Declarator nodes that wrap the function's name without a `declarator` field.
_NAME_WRAPPERS = frozenset({"parenthesized_declarator", "reference_declarator"})


@dataclass(frozen=True)
class Scope:
    kind: str
    name: str
    start_line: int
    end_line: int
    text: str
    qualified_name: str


@dataclass(frozen=True)
class _Span:
    """A scope before its text is cut out of the file."""

    kind: str
    name: str
    qualified_name: str
    start_line: int
    end_line: int


@dataclass(frozen=True)
class _Loaded:
    language: Language
    scopes: Query
    problems: Query


_loaded: dict[str, _Loaded] = {}
_load_lock = threading.Lock()
_per_thread = threading.local()


def detect_language(path: str, head: bytes | None = None) -> str | None:
    """Name the language of a file from its extension, else its shebang line."""
    language = _EXTENSIONS.get(PurePosixPath(path).suffix.lower())
    if language is not None or not head:
        return language

    return _language_from_shebang(head)


def _language_from_shebang(head: bytes) -> str | None:
    """Name the language of the interpreter a `#!` line runs."""
    if not head.startswith(b"#!"):
        return None

    words = head[2:].split(b"\n", 1)[0].decode("utf-8", "replace").split()
    if words and PurePosixPath(words[0]).name == "env":
        # `env -S node --flag` and `env VAR=1 python`: skip options, settings.
        words = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    if not words:
        return None

    match = _INTERPRETER_NAME.fullmatch(PurePosixPath(words[0]).name)
    return _INTERPRETERS.get(match.group(1)) if match else None


def semgrep_language(language: str) -> str | None:
    """Give Semgrep's name for a language this module names, None if unknown."""
    if language not in _GRAMMARS:
        return None

    return _SEMGREP_NAMES.get(language, language)


def _load(language: str) -> _Loaded:
    """Load a grammar and compile its queries, once per process."""
    with _load_lock:
        if language in _loaded:
            return _loaded[language]

        grammar = _GRAMMARS[language]
        try:
            module = importlib.import_module(grammar.module)
        except ImportError as exc:
            raise RuntimeError(
                f"no grammar for {language}: install {grammar.module.replace('_', '-')}"
            ) from exc

        lang = Language(getattr(module, grammar.factory)())
        loaded = _Loaded(lang, Query(lang, grammar.scopes),
                         Query(lang, "(ERROR) @error (MISSING) @missing"))
        _loaded[language] = loaded
        return loaded


def _parser(language: str) -> Parser:
    """Give this thread's parser for a language: a Parser is not thread-safe."""
    parsers: dict[str, Parser] | None = getattr(_per_thread, "parsers", None)
    if parsers is None:
        parsers = _per_thread.parsers = {}

    if language not in parsers:
        parsers[language] = Parser(_load(language).language)
    return parsers[language]


def _split_lines(text: str) -> list[str]:
    """Split text into lines the way tree-sitter counts rows: at "\\n" only."""
    if not text:
        return []

    lines = text.split("\n")
    return lines[:-1] if text.endswith("\n") else lines


def _encode(text: str) -> bytes:
    # surrogatepass keeps undecodable input parseable; rows stay the same.
    return text.encode("utf-8", "surrogatepass")


class SourceTree:
    """A parsed file: its scopes by line and its syntax errors."""

    def __init__(self, language: str, text: str, tree: Tree) -> None:
        self.language = language
        self.text = text
        self.lines = _split_lines(text)
        self._tree = tree
        self._spans = _collect_spans(language, tree)
        self._owner = _paint(self._spans, len(self.lines))
        self._built: dict[int, Scope] = {}

    @property
    def line_count(self) -> int:
        return len(self.lines)

    @property
    def has_errors(self) -> bool:
        return self._tree.root_node.has_error

    @cached_property
    def _problems(self) -> list[Node]:
        if not self.has_errors:
            return []

        cursor = QueryCursor(_load(self.language).problems)
        found = cursor.captures(self._tree.root_node)
        return found.get("error", []) + found.get("missing", [])

    @property
    def error_count(self) -> int:
        """Count the syntax errors and missing tokens the parser recovered from."""
        return len(self._problems)

    def error_lines(self) -> list[int]:
        """List the 1-based lines where a syntax error starts, in order."""
        return sorted({node.start_point[0] + 1 for node in self._problems})

    def scopes(self) -> list[Scope]:
        """List every scope in the file, each outer one before those inside it."""
        return [self._scope(i) for i in range(len(self._spans))]

    def enclosing(self, line: int) -> Scope | None:
        """Find the innermost scope around a 1-based line, if any."""
        if not 1 <= line <= len(self.lines):
            return None

        index = self._owner[line]
        return self._scope(index) if index >= 0 else None

    def scopes_for_lines(self, start: int, end: int) -> list[Scope]:
        """List the innermost scopes of lines start..end, in order of first line.

        Blank lines are left out unless the range has nothing else: a blank
        line between two methods would otherwise pull in the whole class.
        """
        if start > end:
            raise ValueError(f"line range {start}..{end} is reversed")

        lines = range(max(start, 1), min(end, len(self.lines)) + 1)
        written = [n for n in lines if self.lines[n - 1].strip()]
        indices = dict.fromkeys(self._owner[n] for n in (written or lines))
        return [self._scope(i) for i in indices if i >= 0]

    def _scope(self, index: int) -> Scope:
        if index not in self._built:
            span = self._spans[index]
            text = "\n".join(self.lines[span.start_line - 1:span.end_line])
            self._built[index] = Scope(span.kind, span.name, span.start_line,
                                       span.end_line, text, span.qualified_name)
        return self._built[index]


def parse(text: str, language: str) -> SourceTree | None:
    """Parse a file's text, or give None for a language with no grammar here."""
    if language not in _GRAMMARS:
        return None

    tree = _parser(language).parse(_encode(text))
    return SourceTree(language, text, tree)


def _parse_known(text: str, language: str) -> SourceTree:
    tree = parse(text, language)
    if tree is None:
        raise ValueError(f"no grammar for language {language!r}")
    return tree


def parses(text: str, language: str) -> bool:
    """Tell whether text parses without a syntax error; ValueError if unknown."""
    return not _parse_known(text, language).has_errors


def replacement_parses(
    text: str, language: str, start_line: int, end_line: int, replacement: str
) -> bool:
    """Tell whether replacing lines start..end adds no syntax error to the file.

    An end_line of start_line - 1 inserts before start_line; an empty
    replacement deletes the lines. A trailing newline on the replacement ends
    its last line rather than adding an empty one. A language with no grammar
    here cannot be checked, so its replacement stands.
    """
    lines = text.split("\n")
    count = len(_split_lines(text))
    if not (1 <= start_line <= end_line + 1 and end_line <= count):
        raise ValueError(f"lines {start_line}..{end_line} are outside 1..{count}")

    if replacement.endswith("\n"):
        replacement = replacement[:-1]
    new_lines = replacement.split("\n") if replacement else []
    changed = lines[:start_line - 1] + new_lines + lines[end_line:]

    before, after = parse(text, language), parse("\n".join(changed), language)
    if before is None or after is None:
        return True
    return after.error_count <= before.error_count


def context_for(
    tree: SourceTree | None, text: str, line: int, *, max_lines: int = 80
) -> tuple[str, str]:
    """Give the symbol around a line and the code to show a model with it.

    The code is the enclosing scope when it fits in max_lines; otherwise it is
    a window of max_lines lines around the line, kept inside the scope.
    """
    if line < 1 or max_lines < 1:
        raise ValueError(f"line {line} and max_lines {max_lines} must be positive")

    lines = _split_lines(text)
    scope = tree.enclosing(line) if tree is not None else None
    if scope is None:
        return "", _window(lines, line, max_lines, 1, len(lines))

    if scope.end_line - scope.start_line < max_lines:
        return scope.qualified_name, scope.text
    window = _window(lines, line, max_lines, scope.start_line, scope.end_line)
    return scope.qualified_name, window


def _window(lines: list[str], line: int, size: int, first: int, last: int) -> str:
    """Cut up to size lines centred on line, kept within first..last."""
    line = min(max(line, first), last)
    start = max(first, line - (size - 1) // 2)
    end = min(last, start + size - 1)
    start = max(first, end - size + 1)
    return "\n".join(lines[start - 1:end])


def _collect_spans(language: str, tree: Tree) -> list[_Span]:
    """Find the scopes of a tree, outer before inner, in source order."""
    grammar = _GRAMMARS[language]
    captures = QueryCursor(_load(language).scopes).captures(tree.root_node)
    found = [(node, kind) for kind, nodes in captures.items() for node in nodes]
    found.sort(key=lambda pair: (pair[0].start_byte, -pair[0].end_byte))

    spans: list[_Span] = []
    stack: list[tuple[Node, _Span]] = []
    for node, kind in found:
        while stack and stack[-1][0].end_byte <= node.start_byte:
            stack.pop()
        outer = stack[-1][1] if stack else None

        span = _span(grammar, node, kind, outer)
        spans.append(span)
        stack.append((node, span))
    return spans


def _span(grammar: _Grammar, node: Node, kind: str, outer: _Span | None) -> _Span:
    """Describe one scope node, given the scope around it."""
    if kind == "function" and outer is not None and outer.kind in _MEMBER_OF:
        kind = "method"

    name, owner = _name_of(node)
    if owner:
        qualified = f"{owner}.{name}"
    elif outer is not None:
        qualified = f"{outer.qualified_name}.{name}"
    else:
        qualified = name

    start, end = _line_range(grammar, node)
    return _Span(kind, name, qualified, start, end)


def _line_range(grammar: _Grammar, node: Node) -> tuple[int, int]:
    """Give a scope's 1-based lines, decorators and attributes included."""
    first = node
    while first.parent is not None and first.parent.type in grammar.wrappers:
        first = first.parent
    while (before := first.prev_named_sibling) and before.type in grammar.leading:
        first = before

    row, column = node.end_point
    # A node that ends at column 0 ends with the newline of the line before.
    end = row if column == 0 and row > node.start_point[0] else row + 1
    return first.start_point[0] + 1, end


def _text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return " ".join(node.text.decode("utf-8", "replace").split())


def _name_of(node: Node) -> tuple[str, str]:
    """Give a scope's own name and the owner its definition names, if any."""
    if node.type == "method_declaration" and node.child_by_field_name("receiver"):
        return _go_method_name(node)
    if node.type == "impl_item":
        return _rust_impl_name(node), ""
    if node.type == "function_definition" and node.child_by_field_name("declarator"):
        return _c_function_name(node)

    name = _text(node.child_by_field_name("name"))
    if not name:
        name = _assigned_name(node)
    return name or ANONYMOUS, ""


def _assigned_name(node: Node) -> str:
    """Name an anonymous function or class after what it is assigned to."""
    parent = node.parent
    if parent is None:
        return ""

    if parent.type in ("variable_declarator", "var_spec"):
        target = parent.child_by_field_name("name")
    elif parent.type == "assignment_expression":
        target = parent.child_by_field_name("left")
        if target is not None and target.type == "member_expression":
            target = target.child_by_field_name("property")
    elif parent.type == "pair":
        target = parent.child_by_field_name("key")
    elif parent.type in ("field_definition", "public_field_definition"):
        target = (parent.child_by_field_name("name")
                  or parent.child_by_field_name("property"))
    elif parent.type == "expression_list":
        target = _go_assigned(parent)
    else:
        return ""

    if target is None or target.type not in _NAME_TYPES:
        return ""
    return _text(target).strip("'\"")



def _go_assigned(values: Node) -> Node | None:
    """Find the single name a Go `f := func() {...}` assigns to."""
    statement = values.parent
    if statement is None or statement.child_by_field_name("right") != values:
        return None

    targets = statement.child_by_field_name("left")
    if targets is None or targets.named_child_count != 1 or values.named_child_count != 1:
        return None
    return targets.named_children[0]


def _go_method_name(node: Node) -> tuple[str, str]:
    """Name a Go method and its receiver's type: (s *Server) Handle."""
    receiver = node.child_by_field_name("receiver")
    owner = _first_of_type(receiver, "type_identifier") if receiver else None
    return _text(node.child_by_field_name("name")) or ANONYMOUS, _text(owner)


def _rust_impl_name(node: Node) -> str:
    """Name an impl block after its type, without generic arguments."""
    target = node.child_by_field_name("type")
    if target is not None and target.type == "generic_type":
        target = target.child_by_field_name("type")
    return _text(target) or ANONYMOUS



def _c_function_name(node: Node) -> tuple[str, str]:
    """Follow a C or C++ declarator to the function's name and class."""
    target = node.child_by_field_name("declarator")
    while target is not None:
        inner = target.child_by_field_name("declarator")
        if inner is None and target.type in _NAME_WRAPPERS and target.named_children:
            inner = target.named_children[-1]
        if inner is None:
            break
        target = inner

    owners: list[str] = []
    while target is not None and target.type == "qualified_identifier":
        owners.append(_text(target.child_by_field_name("scope")))
        target = target.child_by_field_name("name")
    return _text(target) or ANONYMOUS, ".".join(o for o in owners if o)


def _first_of_type(node: Node, node_type: str) -> Node | None:
    """Find the first descendant of a type, depth first."""
    for child in node.named_children:
        if child.type == node_type:
            return child
        found = _first_of_type(child, node_type)
        if found is not None:
            return found
    return None


def _paint(spans: list[_Span], line_count: int) -> list[int]:
    """Map each line to its innermost scope's index, -1 where there is none."""
    owner = [-1] * (line_count + 1)
    # Outer scopes come first, so an inner scope paints over its parent.
    for index, span in enumerate(spans):
        end = min(span.end_line, line_count)
        owner[span.start_line:end + 1] = [index] * (end - span.start_line + 1)
    return owner
