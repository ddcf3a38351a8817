"""check.py -- checks the built book (build/book/html) and fails on:

  - a broken internal link or anchor (href, src) in any page;
  - a listing whose text differs from its source region;
  - a chapter (a numbered chapter's page) with no listing;
  - a tab group that does not have all six languages;
  - a listing longer than 40 lines, unless book/long-listings.txt names it
    (with no more lines than it has there); an entry there that is no longer
    needed is a problem too, so the list can only shrink;

and in a one-language edition (--edition LANG), on:

  - a tab group at all;
  - a listing of an example in another language than LANG;
  - a transcript of the chapter demo runner not limited to LANG.

(The EPUBs are checked by epubcheck: make book-check.)

usage: python3 book/check.py [--edition LANG] [HTML_DIR]
       (default build/book/html, or build/book/editions/LANG)
"""

import argparse
import shlex
import sys
from dataclasses import dataclass, field
from functools import cached_property
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bookkit import (LANGUAGE_KEYS, BookError, edition_command, region_text,  # noqa: E402
                     source_file, split_command)

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Node:
    tag: str
    attrs: dict
    children: list = field(default_factory=list)
    text: list = field(default_factory=list)  # text and child nodes, in order

    def classes(self):
        return self.attrs.get("class", "").split()

    def walk(self):
        """This node and every node below it, in document order."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def text_content(self):
        return "".join(t if isinstance(t, str) else t.text_content() for t in self.text)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}


class TreeBuilder(HTMLParser):
    """A small DOM: enough to find elements and their text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        self.stack[-1].text.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):  # tolerate unclosed elements
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1].text.append(data)


def parse_html(text):
    builder = TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


@dataclass
class Page:
    path: Path
    root: Node

    @cached_property
    def ids(self):
        return {n.attrs["id"] for n in self.root.walk() if "id" in n.attrs}


def load_pages(html_dir):
    return {p.relative_to(html_dir).as_posix(): Page(p, parse_html(p.read_text(encoding="utf-8")))
            for p in sorted(html_dir.glob("*.html"))}


def link_problems(pages, html_dir):
    """Every internal href/src must name an existing file, and a #fragment an id in it."""
    problems = []
    for name, page in pages.items():
        for node in page.root.walk():
            for attr in ("href", "src"):
                ref = node.attrs.get(attr)
                if not ref:
                    continue
                url = urlsplit(ref)
                if url.scheme or url.netloc:
                    continue  # external: not ours to check
                target = name if not url.path else \
                    (Path(name).parent / unquote(url.path)).as_posix()
                file = (html_dir / target).resolve()
                if not file.exists():
                    problems.append(f"{name}: {attr}={ref!r}: no such file")
                elif url.fragment:
                    ids = pages[target].ids if target in pages else set()
                    if unquote(url.fragment) not in ids:
                        problems.append(f"{name}: {attr}={ref!r}: no id {url.fragment!r} in {target}")
    return problems


def listings(page):
    """(file, region, text shown) for every listing on a page."""
    for node in page.root.walk():
        if "data-file" in node.attrs and "data-region" in node.attrs:
            code = next((n for n in node.walk() if n.tag == "code"), node)
            yield node.attrs["data-file"], node.attrs["data-region"], code.text_content()


def listing_problems(pages, root):
    problems = []
    for name, page in pages.items():
        for file, region, shown in listings(page):
            try:
                want = region_text(root, file, region)
            except BookError as e:
                problems.append(f"{name}: listing {file} [{region}]: {e}")
                continue
            if shown.rstrip("\n") != want:
                problems.append(f"{name}: listing {file} [{region}] differs from its source region")
    return problems


MAX_LISTING_LINES = 40
LONG_LISTINGS = Path(__file__).resolve().parent / "long-listings.txt"


def read_long_listings(path=LONG_LISTINGS):
    """{(file, region): lines} of the listings still allowed past the limit."""
    allowed = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                file, region, lines = line.split()
                allowed[(file, region)] = int(lines)
    return allowed


def length_problems(pages, allowed):
    """Listings past MAX_LISTING_LINES that `allowed` does not name (or that
    grew), and entries of `allowed` no page needs any more."""
    problems, seen = [], set()
    for name, page in pages.items():
        for file, region, shown in listings(page):
            lines = len(shown.rstrip("\n").splitlines())
            if lines <= MAX_LISTING_LINES:
                continue
            seen.add((file, region))
            limit = allowed.get((file, region))
            if limit is None or lines > limit:
                problems.append(f"{name}: listing {file} [{region}] is {lines} lines, more than "
                                f"{limit or MAX_LISTING_LINES}: split the region by idea")
    problems += [f"{LONG_LISTINGS.name}: {file} [{region}] is no longer over "
                 f"{MAX_LISTING_LINES} lines: remove it" for file, region in allowed
                 if (file, region) not in seen]
    return problems


def chapter_problems(pages):
    """A numbered chapter's page (main data-page="chapter") must show a listing."""
    problems = []
    for name, page in pages.items():
        is_chapter = any(n.tag == "main" and n.attrs.get("data-page") == "chapter"
                         for n in page.root.walk())
        if is_chapter and not any(True for _ in listings(page)):
            problems.append(f"{name}: a chapter with no listing")
    return problems


def tab_problems(pages):
    problems = []
    for name, page in pages.items():
        for node in page.root.walk():
            if "tabs" not in node.classes():
                continue
            langs = [c.attrs.get("data-lang") for c in node.children if "tab" in c.classes()]
            declared = node.attrs.get("data-langs", ",".join(LANGUAGE_KEYS)).split(",")
            missing = [k for k in declared if k not in langs]
            if missing or len(langs) != len(declared):
                what = node.attrs.get("data-example", "?") + " [" + node.attrs.get("data-region", "?") + "]"
                problems.append(f"{name}: tab group {what} has {', '.join(langs) or 'no tabs'}; "
                                f"missing {', '.join(missing) or 'none'}")
    return problems


def transcripts(page):
    """The command line of every transcript on a page: its first line, without the '$ '."""
    for node in page.root.walk():
        if node.tag == "pre" and "output" in node.classes():
            first = node.text_content().partition("\n")[0]
            if first.startswith("$ "):
                yield first[2:]


def edition_problems(pages, lang):
    """A one-language edition has no tab group, shows each example in lang,
    and limits each demonstration to lang (the command edition_command gives)."""
    problems = []
    for name, page in pages.items():
        for node in page.root.walk():
            if "tabs" in node.classes():
                problems.append(f"{name}: a tab group ({node.attrs.get('data-example', '?')}) "
                                f"in the {lang} edition")
            example = node.attrs.get("data-example")
            if example and "data-file" in node.attrs and \
                    node.attrs["data-file"] != source_file(lang, example):
                problems.append(f"{name}: listing {node.attrs['data-file']} stands for {example} "
                                f"in the {lang} edition")
        for shown in transcripts(page):
            try:
                env, argv = split_command(shown)
            except (BookError, ValueError) as e:
                problems.append(f"{name}: transcript {shown!r}: {e}")
                continue
            want = edition_command(shlex.join(argv), lang)
            if want != shlex.join(argv) and shown != want:
                problems.append(f"{name}: transcript {shown!r} in the {lang} edition: "
                                f"want {want!r}")
    return problems


def check(html_dir, root=ROOT, pages=None, edition=None):
    pages = load_pages(html_dir) if pages is None else pages
    if not pages:
        return [f"{html_dir}: no pages: run make book"]
    problems = (link_problems(pages, html_dir) + listing_problems(pages, root) +
                chapter_problems(pages) + tab_problems(pages))
    if not edition:  # an edition shows a subset of the same listings
        problems += length_problems(pages, read_long_listings())
    return problems + (edition_problems(pages, edition) if edition else [])


def main(argv):
    parser = argparse.ArgumentParser(prog="check.py", description="Checks the built book.")
    parser.add_argument("--edition", choices=LANGUAGE_KEYS,
                        help="HTML_DIR is this language's one-language edition")
    parser.add_argument("html_dir", nargs="?", type=Path, metavar="HTML_DIR")
    args = parser.parse_args(argv[1:])
    book = ROOT / "build" / "book"
    html_dir = args.html_dir or (book / "editions" / args.edition if args.edition else book / "html")
    pages = load_pages(html_dir)
    problems = check(html_dir, pages=pages, edition=args.edition)
    what = f"the {args.edition} edition: " if args.edition else ""
    for p in problems:
        print(f"book check: {what}{p}", file=sys.stderr)
    if problems:
        print(f"book check: {what}{len(problems)} problem(s)", file=sys.stderr)
        return 1
    checked = "links, listings, tabs and transcripts" if args.edition else "links, listings and tabs"
    print(f"book check: {what}{len(pages)} pages, {checked} OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
