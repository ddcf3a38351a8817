"""build.py -- builds the book from chapters/ into build/book/:

  build/book/html/index.html      the multi-page site (one page per chapter)
  build/book/html/book.html       the single-page edition
  build/book/socket-book.epub     the EPUB edition
  build/book/editions/<lang>/     the book in one language: book.html (one page),
                                  socket-book-<lang>.epub, and index.html

Chapters never paste code: their directives (see book/README.md) are expanded
here from the real sources, the real output of `make chapterN`, the harness's
latest results and graphviz diagrams. Then pandoc renders each edition, with
book.lua scoping heading ids to their chapter and rewriting links between
chapters. A one-language edition expands the chapters again, each tab group
as its language's listing alone, each demonstration limited to that language.

usage: python3 book/build.py   (from anywhere; needs pandoc and graphviz's dot)
"""

import html
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bookkit import (LANGUAGE_KEYS, LANGUAGES, LANGUAGE_NAMES, BookError, RunCache,  # noqa: E402
                     chapter_files, edition_command, highlighter, is_multi_language,
                     listing_langs, parse_directive, region_text, source_file, split_command)

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
OUT = ROOT / "build" / "book"
HTML = OUT / "html"
TITLE = "The Socket Book"
RESULTS = ROOT / "build" / "interop" / "results.json"
# A chapter's commands (`make chapterN`, the demo runner) run the examples, the
# harness and what they build; their output is captured once and used again
# until one of these changes. The interop results they print a grid from are
# left out on purpose: a transcript shows the grid of its own day.
RUN_INPUTS = [ROOT / d for d in ("c", "python", "java", "node", "haskell", "ruby",
                                 "tests/harness", "tests/interop", "tests/relay",
                                 "Makefile", "build/c", "build/java", "build/haskell",
                                 "build/tests", "build/bin", "tests/load",
                                 "tools/bench_concurrency.py")] + sorted(ROOT.glob("chapters/*/demos"))


# ---- chapters -------------------------------------------------------------

@dataclass
class Chapter:
    path: Path
    meta: dict
    body: str  # the whole file, front matter included
    expanded: str = ""

    @property
    def id(self):
        return self.path.parent.name

    @property
    def title(self):
        return self.meta.get("title", self.id)

    @property
    def kinds(self):
        return self.meta.get("kinds", [])

    @property
    def is_chapter(self):
        """A numbered chapter from 1 on (not the preface, not an appendix)."""
        return isinstance(self.meta.get("chapter"), int) and self.meta["chapter"] >= 1

    @property
    def name(self):
        return str(self.path.relative_to(ROOT))


def front_matter(path):
    """The chapter's YAML front matter (title, chapter, kinds), as pandoc reads
    it; pandoc reads it again, and skips it, when it renders the chapter."""
    meta = json.loads(pandoc("--from", "markdown", "--to", "plain", "--template",
                             BOOK / "meta.template", path, cwd=ROOT))
    if "chapter" in meta:  # pandoc gives every scalar as text
        try:
            meta["chapter"] = int(meta["chapter"])
        except ValueError:
            raise BookError(f"{path}: chapter: {meta['chapter']!r} is not a number") from None
    return meta


def load_chapters():
    chapters = []
    for path in chapter_files(ROOT):
        chapters.append(Chapter(path, front_matter(path), path.read_text(encoding="utf-8")))
    if not chapters:
        raise BookError("chapters/: no */README.md found")
    return chapters


# ---- directives -----------------------------------------------------------

@dataclass
class Context:
    """What expanding the directives collects: source files to publish,
    command output already captured (each command runs once per build),
    diagrams already rendered. lang is a one-language edition's language
    (None for the book in all six)."""
    sources: set = field(default_factory=set)
    runs: dict = field(default_factory=dict)
    cache: RunCache = field(default_factory=lambda: RunCache(OUT / "runs", RUN_INPUTS))
    diagrams: set = field(default_factory=set)
    lang: str | None = None

    def edition(self, lang):
        """A context for lang's edition: sources of its own; the runs, the
        cache and the diagrams shared."""
        return Context(runs=self.runs, cache=self.cache, diagrams=self.diagrams, lang=lang)


def fence(text, attrs):
    """A fenced code block that survives backticks inside text."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{{{attrs}}}\n{text}\n{ticks}\n"


def one_listing(path, region, ctx, example=None):
    """A listing of one file; example names the six-language example it
    stands for in a one-language edition."""
    text = region_text(ROOT, path, region)
    ctx.sources.add(path)
    hl = highlighter(path)
    attrs = f'.{hl} .listing data-file="{path}" data-region="{region}"' if hl else \
        f'.listing data-file="{path}" data-region="{region}"'
    if example:
        attrs += f' data-example="{example}"'
    link = f"[`{path}`](src/{path}){{.source-link}}"
    return fence(text, attrs) + f"\n::: {{.listing-source}}\n{link}\n:::\n"


def listing_md(attrs, ctx):
    file, region = attrs["file"], attrs["region"]
    if not is_multi_language(file):
        return one_listing(file, region, ctx)
    langs = listing_langs(attrs)
    if ctx.lang:  # a one-language edition: its listing alone, no tabs (none if it has no such file)
        return one_listing(source_file(ctx.lang, file), region, ctx, example=file) \
            if ctx.lang in langs else ""
    tabs = [f'::::: {{.tabs data-example="{file}" data-region="{region}" data-langs="{",".join(langs)}"}}\n']
    for key, name, _, _ in LANGUAGES:
        if key not in langs:
            continue
        tabs.append(f'::: {{.tab data-lang="{key}"}}\n'
                    f'[{name}]{{.tab-label}}\n\n'
                    f'{one_listing(source_file(key, file), region, ctx)}\n:::\n')
    tabs.append(":::::\n")
    return "\n".join(tabs)


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def run_md(attrs, ctx):
    """The real output of a command, run from the repository root; in a
    one-language edition, the command edition_command gives (the demo runner
    limited to the edition's language), shown as it is run."""
    command = attrs["command"] if ctx.lang is None else edition_command(attrs["command"], ctx.lang)
    if command not in ctx.runs and (cached := ctx.cache.get(command)) is not None:
        ctx.runs[command] = cached
    if command not in ctx.runs:
        # As a reader would run it: not as a sub-make of `make book` (which would
        # add "Entering directory" lines to the output), and with no language
        # filter but the one the command itself sets (NAME=value words first).
        assignments, argv = split_command(command)
        env = {k: v for k, v in os.environ.items()
               if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "INTEROP_LANGS")}
        env.update(assignments)
        try:
            done = subprocess.run(argv, cwd=ROOT, capture_output=True,
                                  text=True, timeout=600, env=env)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise BookError(f"cannot run {command!r}: {e}") from None
        output = _ANSI.sub("", done.stdout + done.stderr).rstrip()
        if done.returncode != 0:
            raise BookError(f"{command!r} exited {done.returncode}:\n{output[-2000:]}")
        ctx.runs[command] = output
        ctx.cache.put(command, output)
    return fence(f"$ {command}\n{ctx.runs[command]}", ".output")


def include_md(attrs, ctx):
    """Another Markdown file of the project, its headings one level down."""
    file = ROOT / attrs["file"]
    if not file.is_file():
        raise BookError(f"no such file: {attrs['file']}")
    out, in_fence = [], False
    for line in file.read_text(encoding="utf-8").splitlines():
        if line.startswith(("```", "~~~")):
            in_fence = not in_fence
        if not in_fence and line.startswith("#"):
            line = "#" + line
        out.append(line)
    return "\n".join(out) + "\n"


def diagram_md(attrs, ctx):
    """A graphviz diagram rendered to SVG at build time -- or an SVG that an
    earlier transcript's command drew (a benchmark's plot under build/), as it is."""
    source = ROOT / attrs["file"]
    if not source.is_file():
        raise BookError(f"no such file: {attrs['file']}" + (
            " (drawn by a command of this chapter: remove build/book/runs to run it again)"
            if source.suffix == ".svg" else ""))
    target = HTML / "diagrams" / (source.stem + ".svg")
    if source not in ctx.diagrams:  # once a build: the editions show the same SVG
        target.parent.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["cp", str(source), str(target)] if source.suffix == ".svg" else
                              ["dot", "-Tsvg", str(source), "-o", str(target)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise BookError(f"{'cp' if source.suffix == '.svg' else 'dot'} {attrs['file']}: "
                            f"{done.stderr.strip()}")
        # graphviz names the SVG 1.1 DTD; EPUB 3 forbids external entities, so drop it.
        svg = target.read_text(encoding="utf-8")
        target.write_text(re.sub(r"<!DOCTYPE[^>]*>\s*", "", svg, count=1), encoding="utf-8")
        ctx.diagrams.add(source)
    caption = attrs.get("caption", source.stem)
    return f"![{caption}](diagrams/{source.stem}.svg)\n"


EXPANDERS = {"listing": listing_md, "run": run_md, "include": include_md,
             "diagram": diagram_md}


# Prose for one kind of book only: `::: {.all-languages}` is left out of the
# one-language editions, `::: {.one-language}` out of the six-language book.
EDITION_ONLY = {True: "::: {.one-language}", False: "::: {.all-languages}"}


def skip_div(lines, i, where):
    """The index after the `:::` that closes the fenced div opened at lines[i]."""
    depth = 0
    for j in range(i, len(lines)):
        text = lines[j].strip()
        if text.startswith("::: {") or text.startswith(":::{"):
            depth += 1
        elif text == ":::":
            depth -= 1
            if depth == 0:
                return j + 1
    raise BookError(f"{where}: {lines[i].strip()} has no closing ':::'")


def expand(chapter, ctx):
    """The chapter's Markdown with every directive replaced by what it names.
    Errors name the chapter file and the directive's line."""
    lines = chapter.body.splitlines()
    out, i, in_fence = [], 0, False
    left_out = EDITION_ONLY[ctx.lang is None]
    while i < len(lines):
        line, where = lines[i], f"{chapter.name}:{i + 1}"
        if line.startswith(("```", "~~~")):
            in_fence = not in_fence
        if not in_fence and line.strip() == left_out:
            i = skip_div(lines, i, where)
            continue
        directive = None if in_fence else parse_directive(line, where)
        if directive is None:
            out.append(line)
            i += 1
            continue
        if i + 1 >= len(lines) or lines[i + 1].strip() != ":::":
            raise BookError(f"{where}: a .{directive.kind} directive is written empty: "
                            "put ':::' on the next line")
        try:
            out.append(EXPANDERS[directive.kind](directive.attrs, ctx))
        except BookError as e:
            raise BookError(f"{where}: {e}") from None
        i += 2
    if chapter.kinds:
        out.append("\n" + grid_md(chapter.kinds))
    return "\n".join(out) + "\n"


# ---- the interop grid -----------------------------------------------------

def load_results():
    try:
        return json.loads(RESULTS.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise BookError(f"{RESULTS.relative_to(ROOT)}: {e}") from None


def cell(results):
    """'5/5' with a pass/fail class, for the results of one cell. A cell with
    cases that did not pass folds them (name, status, why) under its count:
    a click or a tap opens them, without JavaScript; the EPUB prints them open
    (book.lua)."""
    passed = sum(r["status"] == "pass" for r in results)
    failed = sum(r["status"] == "fail" for r in results)
    if not results:
        return '<td class="none">–</td>'
    state = "fail" if failed else ("pass" if passed == len(results) else "skip")
    count = f"{passed}/{len(results)}"
    others = [r for r in results if r["status"] != "pass"]
    if not others:
        return f'<td class="{state}">{count}</td>'
    items = "".join(f'<li><code>{html.escape(r["name"])}</code>: {html.escape(r["status"])}'
                    + (f' – {html.escape(r["detail"])}' if r.get("detail") else "") + "</li>"
                    for r in others)
    return (f'<td class="{state}"><details class="cell"><summary>{count}</summary>'
            f'<ul>{items}</ul></details></td>')


def in_book_order(langs):
    """Languages in the book's order, then any others (tests finish in any order)."""
    order = {key: i for i, (key, *_) in enumerate(LANGUAGES)}
    return sorted(set(langs), key=lambda lang: (order.get(lang, len(order)), lang))


def pairs_table(kind, results):
    pairs = [r for r in results if r["kind"] == kind and r["type"] == "pair"]
    if not pairs:
        return ""
    servers = in_book_order(r["server"] for r in pairs)
    clients = in_book_order(r["client"] for r in pairs)
    rows = ["<tr><th>server \\ client</th>" +
            "".join(f"<th>{html.escape(LANGUAGE_NAMES.get(c, c))}</th>" for c in clients) +
            "</tr>"]
    for s in servers:
        cells = "".join(cell([r for r in pairs if r["server"] == s and r["client"] == c])
                        for c in clients)
        rows.append(f"<tr><th>{html.escape(LANGUAGE_NAMES.get(s, s))}</th>{cells}</tr>")
    caption = f"<code>{kind}</code>: cases passed, server (row) × client (column)"
    return (f'<div class="table-scroll"><table class="grid"><caption>{caption}</caption>\n' +
            "\n".join(rows) + "\n</table></div>\n")


def checks_table(kind, results):
    checks = [r for r in results if r["kind"] == kind and r["type"] == "check"]
    if not checks:
        return ""
    programs = [(lang, role) for role in ("server", "client", "program")
                for lang in in_book_order(r["lang"] for r in checks if r["role"] == role)]
    rows = ["<tr><th>program</th><th>checks passed</th></tr>"]
    for lang, role in programs:
        mine = [r for r in checks if r["lang"] == lang and r["role"] == role]
        name = html.escape(f"{LANGUAGE_NAMES.get(lang, lang)} {role}")
        rows.append(f"<tr><th>{name}</th>{cell(mine)}</tr>")
    caption = f"<code>{kind}</code>: each program on its own (command line, errors, signals)"
    return (f'<div class="table-scroll"><table class="grid checks"><caption>{caption}</caption>\n' +
            "\n".join(rows) + "\n</table></div>\n")


def grid_md(kinds):
    """The chapter's slice of the latest interop run, or a note that there is none."""
    data = load_results()
    head = "## Interop results {.unnumbered}\n\n"
    if data is None:
        return head + ("No interop results yet: `make interop` (or `make test`) runs every "
                       "server against every client and fills in this grid.\n")
    results = data.get("results", [])
    tables = "".join(pairs_table(k, results) + checks_table(k, results) for k in kinds)
    if not tables:
        return head + (f"The last interop run ({data.get('date', '?')}) has no results for "
                       f"{', '.join(kinds)}: run `make interop`.\n")
    return (head + f"From the harness's last run, {data.get('date', '?')} "
            "(`build/interop/results.json`):\n\n" + fence(tables, "=html"))


# ---- pandoc ---------------------------------------------------------------

def pandoc(*args, cwd=HTML):
    done = subprocess.run(["pandoc", *map(str, args)], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise BookError(f"pandoc {' '.join(map(str, args))}:\n{done.stderr.strip()}")
    return done.stdout


COMMON = ["--from", "markdown", "--lua-filter", BOOK / "book.lua", "--highlight-style", "pygments"]


def sidebar(chapters, current):
    items = []
    for ch in chapters:
        here = ' aria-current="page"' if ch is current else ""
        items.append(f'<li><a href="{ch.id}.html"{here}>{html.escape(ch.title)}</a></li>')
    return "<ol>" + "".join(items) + "</ol>"


def write_page(ch, chapters, index):
    prev = chapters[index - 1] if index > 0 else None
    nxt = chapters[index + 1] if index + 1 < len(chapters) else None
    md = OUT / "md" / f"{ch.id}.md"
    args = [*COMMON, "--standalone", "--template", BOOK / "template.html", md,
            "-M", "book-mode=multi", "-M", f"chapter-id={ch.id}",
            "-M", f"title={ch.title}", "-M", f"pagetitle={ch.title} – {TITLE}",
            "-V", f"book-title={TITLE}", "-V", f"sidebar={sidebar(chapters, ch)}",
            "-o", HTML / f"{ch.id}.html"]
    if ch.is_chapter:
        args += ["-V", "is-chapter=true"]
    for name, other in (("prev", prev), ("next", nxt)):
        if other:
            args += ["-V", f"{name}-href={other.id}.html", "-V", f"{name}-title={other.title}"]
    pandoc(*args)


def write_md_page(lines, md, target, title, *args):
    """A page of the book's own (not a chapter) from Markdown lines, saved as md."""
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    pandoc(*COMMON, "--standalone", "--template", BOOK / "template.html", md,
           "-M", f"pagetitle={title}", "-V", f"book-title={title}", *args, "-o", target)


def write_index(chapters):
    lines = [f"# {TITLE}\n",
             "A socket programming tutorial in C, Python, Java, Node.js, Haskell and Ruby, "
             "where every listing is cut from a program the tests run.\n",
             "## Contents\n"]
    lines += [f"1. [{ch.title}]({ch.id}.html)" for ch in chapters]
    lines += ["\n## Other editions\n",
              "- [The whole book on one page](book.html)",
              "- [EPUB](../socket-book.epub)",
              "- In one language, with only its listings and transcripts:"]
    for lang in LANGUAGE_KEYS:
        edition = Edition(lang)
        page, epub = (os.path.relpath(f, HTML) for f in (edition.dir / "book.html", edition.epub))
        lines.append(f"    - {LANGUAGE_NAMES[lang]}: [one page]({page}), [EPUB]({epub})")
    write_md_page(lines, OUT / "md" / "index.md", HTML / "index.html", TITLE,
                  "-V", f"sidebar={sidebar(chapters, None)}")


def whole_book(chapters, md_dir=OUT / "md"):
    """All chapters (md_dir/<id>.md) as one Markdown document, md_dir/book.md,
    ids and links made book-wide."""
    parts = []
    for ch in chapters:
        parts.append(pandoc(*COMMON, "--to", "markdown", md_dir / f"{ch.id}.md",
                            "-M", "book-mode=single", "-M", f"chapter-id={ch.id}"))
    whole = md_dir / "book.md"
    whole.write_text("\n\n".join(parts), encoding="utf-8")
    return whole


def write_single_page(whole, chapters, target=HTML / "book.html", title=TITLE):
    pandoc(*COMMON, "--standalone", "--template", BOOK / "template.html", whole, "--toc",
           "--toc-depth", "2", "-M", f"pagetitle={title}", "-V", f"book-title={title}",
           "-V", "single-page=true", "-o", target)


def write_epub(whole, target=OUT / "socket-book.epub", title=TITLE):
    pandoc(*COMMON, whole, "-M", "book-mode=epub", "-M", f"title={title}",
           "-M", "lang=en", "--toc", "--toc-depth", "2", "--css", BOOK / "epub.css",
           "--epub-chapter-level", "1", "-o", target)


def copy_assets(ctx, folder=HTML):
    for name in ("style.css", "tabs.js"):
        shutil.copy(BOOK / name, folder / name)
    for path in sorted(ctx.sources):
        target = folder / "src" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / path, target)


# ---- one-language editions --------------------------------------------------

EDITIONS = OUT / "editions"


@dataclass
class Edition:
    """The book in one language, in build/book/editions/<lang>/: one page and
    an EPUB with only that language's listings and transcripts, and an
    index.html (the page's masthead links to one)."""
    lang: str
    ctx: Context | None = None  # what expanding its chapters collected

    @property
    def dir(self):
        return EDITIONS / self.lang

    @property
    def md(self):
        return OUT / "md" / "editions" / self.lang

    @property
    def epub(self):
        return self.dir / f"socket-book-{self.lang}.epub"

    @property
    def title(self):
        return f"{TITLE}: {LANGUAGE_NAMES[self.lang]} edition"


def expand_edition(lang, chapters, ctx):
    """lang's edition: the chapters expanded again into its own Markdown
    files, with ctx's runs and diagrams (a demonstration limited to lang is a
    run of its own, captured and cached like any other)."""
    edition = Edition(lang, ctx.edition(lang))
    edition.md.mkdir(parents=True, exist_ok=True)
    for ch in chapters:
        (edition.md / f"{ch.id}.md").write_text(expand(ch, edition.ctx), encoding="utf-8")
    return edition


def copy_edition_assets(edition):
    """What the edition's page links to: the stylesheet and script, its own
    sources, the diagrams (rendered into HTML by the six-language book)."""
    edition.dir.mkdir(parents=True)
    copy_assets(edition.ctx, edition.dir)
    if (HTML / "diagrams").is_dir():
        shutil.copytree(HTML / "diagrams", edition.dir / "diagrams")


def write_edition_index(edition):
    lines = [f"# {edition.title}\n",
             f"{TITLE} with its listings and transcripts in {LANGUAGE_NAMES[edition.lang]} "
             "alone; the prose and the interop grids are the whole book's.\n",
             "- [The whole book on one page](book.html)",
             f"- [EPUB]({edition.epub.name})",
             f"- [In all six languages]({os.path.relpath(HTML / 'index.html', edition.dir)})"]
    write_md_page(lines, edition.md / "index.md", edition.dir / "index.html", edition.title)


# ---- the build --------------------------------------------------------------

def in_parallel(pool, calls):
    """The results of calls (functions of no arguments) run in pool, in order;
    once all have finished, the first one's error if any failed."""
    futures = [pool.submit(call) for call in calls]
    wait(futures)
    return [f.result() for f in futures]


def build():
    chapters = load_chapters()
    for folder in (HTML, EDITIONS):
        if folder.exists():
            shutil.rmtree(folder)
    (OUT / "md").mkdir(parents=True, exist_ok=True)
    HTML.mkdir(parents=True)
    ctx = Context()
    for ch in chapters:
        ch.expanded = expand(ch, ctx)
        (OUT / "md" / f"{ch.id}.md").write_text(ch.expanded, encoding="utf-8")
    editions = [expand_edition(lang, chapters, ctx) for lang in LANGUAGE_KEYS]
    copy_assets(ctx)
    for edition in editions:
        copy_edition_assets(edition)
    # Nearly all the time goes to pandoc, in processes of its own, so they run
    # side by side: first the whole-book documents, then every page and EPUB
    # (the longest first, so that none is left to run alone at the end).
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        whole, *wholes = in_parallel(pool, [partial(whole_book, chapters)] +
                                     [partial(whole_book, chapters, e.md) for e in editions])
        calls = [partial(write_epub, whole), partial(write_single_page, whole, chapters)]
        calls += [partial(write_page, ch, chapters, i) for i, ch in enumerate(chapters)]
        for e, w in zip(editions, wholes):
            calls += [partial(write_epub, w, e.epub, e.title),
                      partial(write_single_page, w, chapters, e.dir / "book.html", e.title)]
        calls += [partial(write_index, chapters)] + [partial(write_edition_index, e) for e in editions]
        in_parallel(pool, calls)
    return chapters


def main():
    try:
        chapters = build()
    except BookError as e:
        print(f"book: {e}", file=sys.stderr)
        return 1
    print(f"book: {len(chapters)} chapters -> {HTML.relative_to(ROOT)}/index.html, "
          f"{HTML.relative_to(ROOT)}/book.html, {OUT.relative_to(ROOT)}/socket-book.epub; "
          f"one-language editions in {EDITIONS.relative_to(ROOT)}/"
          f"{{{','.join(LANGUAGE_KEYS)}}}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
