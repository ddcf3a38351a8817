"""bookkit.py -- what the book build and the book checker share: the six
languages, where each example's file is, anchor regions, the directives
that chapters use instead of pasted code, and what a one-language edition
runs in place of a chapter's command.

Standard library only (any Python 3.11+).
"""

import hashlib
import os
import re
import shlex
import textwrap
from dataclasses import dataclass
from pathlib import Path

# (key in implementations.tsv, name on a tab, file extension, pandoc highlighter)
LANGUAGES = [
    ("c", "C", ".c", "c"),
    ("python", "Python", ".py", "python"),
    ("java", "Java", ".java", "java"),
    ("node", "Node.js", ".js", "javascript"),
    ("haskell", "Haskell", ".hs", "haskell"),
    ("ruby", "Ruby", ".rb", "ruby"),
]
LANGUAGE_KEYS = [key for key, *_ in LANGUAGES]
LANGUAGE_NAMES = {key: name for key, name, *_ in LANGUAGES}
HIGHLIGHT = {ext: hl for _, _, ext, hl in LANGUAGES}

# Languages whose files are named in CamelCase (EchoServer.java, not echo_server.java).
CAMEL_CASE = {"java", "haskell"}


class BookError(Exception):
    """A problem in the book's sources; the message names the file and line."""


def camel(base):
    """'echo_server' -> 'EchoServer'."""
    return "".join(part.capitalize() for part in base.split("_"))


def source_file(lang, topic_base):
    """The file of example `topic/base` in `lang`: ('java', 'stream/echo_server')
    -> 'java/stream/EchoServer.java'."""
    topic, _, base = topic_base.rpartition("/")
    ext = dict((k, e) for k, _, e, _ in LANGUAGES)[lang]
    name = camel(base) if lang in CAMEL_CASE else base
    return f"{lang}/{topic}/{name}{ext}" if topic else f"{lang}/{name}{ext}"


def highlighter(path):
    """The pandoc highlighting class for a source file, or '' if unknown."""
    return HIGHLIGHT.get(Path(path).suffix, "")


_MARKER = re.compile(r"\bANCHOR(_END)?:\s*([A-Za-z0-9_.-]+)\s*(?:\*/|-->)?\s*$")


def region_lines(text, region, name="source"):
    """The lines between `ANCHOR: region` and `ANCHOR_END: region`, without any
    marker lines (of this or other regions) and with common indentation removed.
    Raises BookError if the region is missing, unterminated or repeated."""
    start = end = None
    for number, line in enumerate(text.splitlines(), 1):
        marker = _MARKER.search(line)
        if not marker or marker.group(2) != region:
            continue
        if marker.group(1):  # ANCHOR_END
            if start is None:
                raise BookError(f"{name}:{number}: ANCHOR_END: {region} before its ANCHOR")
            if end is not None:
                raise BookError(f"{name}:{number}: a second ANCHOR_END: {region}")
            end = number
        else:
            if start is not None:
                raise BookError(f"{name}:{number}: a second ANCHOR: {region}")
            start = number
    if start is None:
        raise BookError(f"{name}: no ANCHOR: {region}")
    if end is None:
        raise BookError(f"{name}:{start}: ANCHOR: {region} has no ANCHOR_END")
    lines = text.splitlines()[start:end - 1]
    # The indentation all its lines share goes, blank lines at either end go.
    kept = "\n".join(line for line in lines if not _MARKER.search(line))
    return [line.rstrip() for line in textwrap.dedent(kept).strip("\n").splitlines()]


def region_text(root, path, region):
    """The text of a region of a file under root, as the book shows it."""
    file = Path(root) / path
    if not file.is_file():
        raise BookError(f"no such file: {path}")
    return "\n".join(region_lines(file.read_text(encoding="utf-8"), region, path))


@dataclass
class Directive:
    """`::: {.listing file="c/x.c" region="r"}` -- a fenced div with a class
    and key="value" attributes, written empty (the next line is `:::`)."""
    kind: str
    attrs: dict


_DIRECTIVE = re.compile(r"^:::+\s*\{\s*\.(listing|run|include|diagram)\b([^}]*)\}\s*$")
_ATTR = re.compile(r'([A-Za-z-]+)="([^"]*)"')
_KNOWN = {
    "listing": {"file", "region", "langs"},
    "run": {"command"},
    "include": {"file"},
    "diagram": {"file", "caption"},
}


# Attributes a directive may leave out: a diagram's caption; a listing's langs,
# the languages that have the example (all six unless it says: "c,python").
_OPTIONAL = {"caption", "langs"}


def listing_langs(attrs):
    """The language keys a six-language listing shows: its langs attribute's,
    in book order, or all six. Raises BookError for an unknown key."""
    wanted = [k.strip() for k in attrs.get("langs", ",".join(LANGUAGE_KEYS)).split(",") if k.strip()]
    unknown = [k for k in wanted if k not in LANGUAGE_KEYS]
    if unknown or not wanted:
        raise BookError(f"listing {attrs.get('file')}: langs names {', '.join(unknown) or 'nothing'}; "
                        f"the languages are {', '.join(LANGUAGE_KEYS)}")
    return [k for k in LANGUAGE_KEYS if k in wanted]


def parse_directive(line, where="chapter"):
    """A Directive if `line` opens one, else None. Raises BookError for an
    unknown or missing attribute."""
    match = _DIRECTIVE.match(line.strip())
    if not match:
        return None
    kind, rest = match.groups()
    attrs = dict(_ATTR.findall(rest))
    leftover = _ATTR.sub("", rest).strip()
    if leftover:
        raise BookError(f"{where}: cannot read the attributes of .{kind}: {leftover!r}")
    unknown = set(attrs) - _KNOWN[kind]
    missing = _KNOWN[kind] - set(attrs) - _OPTIONAL
    if unknown or missing:
        raise BookError(f"{where}: .{kind} takes {', '.join(sorted(_KNOWN[kind]))}; "
                        f"got {', '.join(sorted(attrs)) or 'nothing'}")
    return Directive(kind, attrs)


def is_multi_language(file_attr):
    """A listing names one file ('c/stream/echo_server.c') or, without an
    extension, an example in all six languages ('stream/echo_server')."""
    return Path(file_attr).suffix == ""


def chapter_files(root):
    """The chapters' Markdown files, in book order (folders sort by number)."""
    return sorted(Path(root, "chapters").glob("*/README.md"))


# ---- captured command output ------------------------------------------------

def newest_mtime(paths, skip=("node_modules", ".git")):
    """The latest modification time of any file under paths (files or folders),
    not descending into folders named in skip; 0 if there is none."""
    newest = 0.0
    for top in paths:
        top = Path(top)
        if top.is_file():
            newest = max(newest, top.stat().st_mtime)
            continue
        for folder, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if d not in skip]
            for name in files:
                try:
                    newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime)
                except OSError:
                    pass  # removed while we looked
    return newest


class RunCache:
    """The output of each command a chapter shows, kept in folder and used
    again until something it may depend on (any file under inputs) is newer."""

    def __init__(self, folder, inputs):
        self.folder = Path(folder)
        self.inputs = inputs
        self._newest = None

    def _path(self, command):
        return self.folder / (hashlib.sha1(command.encode()).hexdigest()[:16] + ".txt")

    def get(self, command):
        path = self._path(command)
        if not path.exists():
            return None
        if self._newest is None:
            self._newest = newest_mtime(self.inputs)
        if path.stat().st_mtime <= self._newest:
            return None
        text = path.read_text(encoding="utf-8")
        first, _, output = text.partition("\n")
        return output if first == command else None  # a hash collision is a miss

    def put(self, command, output):
        self.folder.mkdir(parents=True, exist_ok=True)
        self._path(command).write_text(f"{command}\n{output}", encoding="utf-8")


# ---- one-language editions ----------------------------------------------------

# The chapter demo runner (tests/harness/demo.c), run as `make chapterN`,
# `make chapters` or build/tests/demo, shows each language's programs in
# turn; with INTEROP_LANGS in its environment it shows those languages' alone.
_DEMO_COMMAND = re.compile(r"(make chapter(\d+|s)|build/tests/demo)(\s.*)?")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*")


def edition_command(command, lang):
    """The command an edition in lang runs and shows for a transcript's
    command: the demo runner limited to that language ('make chapter2' ->
    'INTEROP_LANGS=python make chapter2'), any other command unchanged."""
    return f"INTEROP_LANGS={lang} {command}" if _DEMO_COMMAND.fullmatch(command) else command


def split_command(command):
    """(environment, argv) of a command as a shell reads it: leading
    NAME=value words are the environment ('INTEROP_LANGS=c make chapter2'
    -> ({'INTEROP_LANGS': 'c'}, ['make', 'chapter2']))."""
    words = shlex.split(command)
    env = {}
    while words and _ASSIGNMENT.fullmatch(words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    if not words:
        raise BookError(f"{command!r}: no command after the assignments")
    return env, words
