"""test_book.py -- unit tests for the book build's helpers and checker.

usage: python3 -m unittest discover -s book -p 'test_*.py'
"""

import os
import subprocess
import sys
import tempfile
import time
import unittest
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build  # noqa: E402
import check  # noqa: E402
from bookkit import (LANGUAGE_KEYS, BookError, RunCache, camel, edition_command,  # noqa: E402
                     listing_langs, parse_directive, region_lines, source_file, split_command)

SOURCE = """\
int main(void)
{
    // ANCHOR: outer
    int a = 1;
    // ANCHOR: inner
    int b = 2;
    // ANCHOR_END: inner
    return a + b;
    // ANCHOR_END: outer
}
"""


class Regions(unittest.TestCase):
    def test_region_without_markers_and_dedented(self):
        self.assertEqual(region_lines(SOURCE, "outer"),
                         ["int a = 1;", "int b = 2;", "return a + b;"])
        self.assertEqual(region_lines(SOURCE, "inner"), ["int b = 2;"])

    def test_other_comment_syntaxes(self):
        for start, end in (("# ANCHOR: x", "# ANCHOR_END: x"), ("-- ANCHOR: x", "-- ANCHOR_END: x"),
                           ("/* ANCHOR: x */", "/* ANCHOR_END: x */")):
            self.assertEqual(region_lines(f"{start}\nbody\n{end}\n", "x"), ["body"])

    def test_region_names_are_whole_words(self):
        with self.assertRaises(BookError):
            region_lines("// ANCHOR: accept_loop\nx\n// ANCHOR_END: accept_loop\n", "accept")

    def test_missing_region_names_the_file(self):
        with self.assertRaisesRegex(BookError, r"^x\.c: no ANCHOR: nope"):
            region_lines(SOURCE, "nope", "x.c")

    def test_unterminated_region_names_the_line(self):
        with self.assertRaisesRegex(BookError, r"^x\.c:1: ANCHOR: r has no ANCHOR_END"):
            region_lines("// ANCHOR: r\nbody\n", "r", "x.c")

    def test_repeated_region(self):
        with self.assertRaisesRegex(BookError, "a second ANCHOR: r"):
            region_lines("// ANCHOR: r\n// ANCHOR_END: r\n// ANCHOR: r\n", "r")

    def test_dedent_keeps_relative_indentation_and_trims_blank_ends(self):
        text = "// ANCHOR: r\n\n    a  \n      b\n  \n    c\n\n// ANCHOR_END: r\n"
        self.assertEqual(region_lines(text, "r"), ["a", "  b", "", "c"])


class Names(unittest.TestCase):
    def test_source_files_in_each_language(self):
        self.assertEqual(camel("echo_server"), "EchoServer")
        self.assertEqual(source_file("c", "stream/echo_server"), "c/stream/echo_server.c")
        self.assertEqual(source_file("java", "stream/echo_server"), "java/stream/EchoServer.java")
        self.assertEqual(source_file("haskell", "addresses/lookup"), "haskell/addresses/Lookup.hs")
        self.assertEqual(source_file("node", "stream/echo_client"), "node/stream/echo_client.js")


class Directives(unittest.TestCase):
    def test_parses_a_listing(self):
        d = parse_directive('::: {.listing file="stream/echo_server" region="accept"}')
        self.assertEqual((d.kind, d.attrs), ("listing", {"file": "stream/echo_server", "region": "accept"}))

    def test_a_listing_may_name_its_languages_in_book_order(self):
        d = parse_directive('::: {.listing file="concurrency/thread_server" region="accept" '
                            'langs="ruby,c,python"}')
        self.assertEqual(listing_langs(d.attrs), ["c", "python", "ruby"])
        self.assertEqual(listing_langs({"file": "stream/echo_server"}), LANGUAGE_KEYS)
        with self.assertRaisesRegex(BookError, "langs names rust"):
            listing_langs({"file": "x/y", "langs": "c,rust"})

    def test_ordinary_divs_are_not_directives(self):
        self.assertIsNone(parse_directive("::: {.note}"))
        self.assertIsNone(parse_directive("Some text"))

    def test_bad_attributes_are_errors_with_the_place(self):
        with self.assertRaisesRegex(BookError, r"^ch\.md:3: \.listing takes file, langs, region"):
            parse_directive('::: {.listing file="x.c"}', "ch.md:3")
        with self.assertRaisesRegex(BookError, "cannot read the attributes"):
            parse_directive("::: {.run command=make}", "ch.md:3")

    def test_expand_reports_chapter_and_line(self):
        chapter = build.Chapter(Path(build.ROOT, "chapters/99-x/README.md"), {},
                                "---\nchapter: 9\n---\n\n::: {.listing file=\"c/none.c\" region=\"r\"}\n:::\n")
        with self.assertRaisesRegex(BookError, r"^chapters/99-x/README\.md:5: no such file: c/none\.c"):
            build.expand(chapter, build.Context())

    def test_expand_requires_the_closing_fence(self):
        chapter = build.Chapter(Path(build.ROOT, "chapters/99-x/README.md"), {},
                                '::: {.run command="true"}\ntext\n')
        with self.assertRaisesRegex(BookError, "written empty"):
            build.expand(chapter, build.Context())

    def test_directives_inside_code_fences_are_left_alone(self):
        body = '```\n::: {.listing file="c/none.c" region="r"}\n:::\n```\n'
        chapter = build.Chapter(Path(build.ROOT, "chapters/99-x/README.md"), {}, body)
        self.assertIn("c/none.c", build.expand(chapter, build.Context()))

    def test_prose_for_one_kind_of_book_only(self):
        body = ("a\n::: {.all-languages}\nsix tabs\n:::\n"
                "::: {.one-language}\none listing\n:::\nb\n")
        chapter = build.Chapter(Path(build.ROOT, "chapters/99-x/README.md"), {}, body)
        six = build.expand(chapter, build.Context())
        self.assertIn("six tabs", six)
        self.assertNotIn("one listing", six)
        one = build.expand(chapter, build.Context().edition("c"))
        self.assertIn("one listing", one)
        self.assertNotIn("six tabs", one)
        self.assertIn("b", one)

    def test_an_unclosed_edition_div_names_its_line(self):
        chapter = build.Chapter(Path(build.ROOT, "chapters/99-x/README.md"), {},
                                "::: {.one-language}\ntext\n")
        with self.assertRaisesRegex(BookError, r"README\.md:1: ::: \{\.one-language\} has no closing"):
            build.expand(chapter, build.Context())

    def test_fence_outlasts_backticks_in_the_code(self):
        self.assertTrue(build.fence("a ```` b", ".c").startswith("`````{.c}"))


class FrontMatter(unittest.TestCase):
    def read(self, text):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp, "README.md")
            path.write_text(text, encoding="utf-8")
            return build.front_matter(path)

    def test_values(self):
        meta = self.read('---\ntitle: "Chapter 2: Stream"\nchapter: 2\nkinds: [tcp, udp]\n---\n# Hi\n')
        self.assertEqual(meta, {"title": "Chapter 2: Stream", "chapter": 2, "kinds": ["tcp", "udp"]})

    def test_none(self):
        self.assertEqual(self.read("# Hi\n"), {})

    def test_chapter_must_be_a_number(self):
        with self.assertRaisesRegex(BookError, "chapter: 'two' is not a number"):
            self.read("---\nchapter: two\n---\n")


class Lengths(unittest.TestCase):
    @staticmethod
    def page(lines):
        code = "\n".join(f"line {i}" for i in range(lines))
        html = (f'<div class="listing" data-file="c/x.c" data-region="r"><pre><code>{code}'
                '</code></pre></div>')
        return {"x.html": check.Page(Path("x.html"), check.parse_html(html))}

    def test_forty_lines_pass_and_forty_one_fail(self):
        self.assertEqual(check.length_problems(self.page(40), {}), [])
        self.assertIn("is 41 lines", check.length_problems(self.page(41), {})[0])

    def test_a_named_long_listing_may_not_grow(self):
        allowed = {("c/x.c", "r"): 50}
        self.assertEqual(check.length_problems(self.page(50), allowed), [])
        self.assertIn("more than 50", check.length_problems(self.page(51), allowed)[0])

    def test_an_entry_no_longer_needed_is_a_problem(self):
        problems = check.length_problems(self.page(12), {("c/x.c", "r"): 50})
        self.assertIn("no longer over 40 lines", problems[0])


class Grid(unittest.TestCase):
    RESULTS = [
        {"kind": "tcp", "type": "pair", "server": "c", "client": "ruby", "name": "line", "status": "pass"},
        {"kind": "tcp", "type": "pair", "server": "c", "client": "ruby", "name": "16mib", "status": "fail"},
        {"kind": "tcp", "type": "check", "role": "server", "lang": "c", "name": "help", "status": "pass"},
    ]

    def test_pairs_table_counts_cases(self):
        table = build.pairs_table("tcp", self.RESULTS)
        self.assertIn('<td class="fail"><details class="cell"><summary>1/2</summary>'
                      '<ul><li><code>16mib</code>: fail</li></ul></details></td>', table)
        self.assertNotIn("title=", table)
        self.assertIn("<th>Ruby</th>", table)

    def test_languages_in_book_order_whatever_order_tests_finished(self):
        self.assertEqual(build.in_book_order(["ruby", "yours", "c", "ruby", "java"]),
                         ["c", "java", "ruby", "yours"])

    def test_checks_table(self):
        self.assertIn('<td class="pass">1/1</td>', build.checks_table("tcp", self.RESULTS))

    def test_no_results_is_said_not_invented(self):
        saved = build.RESULTS
        build.RESULTS = Path(tempfile.gettempdir(), "no-such-results.json")
        try:
            self.assertIn("No interop results yet", build.grid_md(["tcp"]))
        finally:
            build.RESULTS = saved


PAGE = """<html><body><main data-page="chapter">
<h2 id="here">Here</h2>
<a href="#here">ok</a> <a href="#gone">broken</a> <a href="other.html#x">missing page</a>
<a href="https://example.org/">external</a>
<div class="tabs" data-example="stream/echo_server" data-region="r">
<div class="tab" data-lang="c"><div data-file="src.c" data-region="r"><pre><code>{code}</code></pre></div></div>
<div class="tab" data-lang="python"></div>
</div></main></body></html>"""


class Checker(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.root = Path(self.dir.name)
        (self.root / "src.c").write_text("// ANCHOR: r\nint x = 1;\n// ANCHOR_END: r\n")
        self.html = self.root / "html"
        self.html.mkdir()

    def tearDown(self):
        self.dir.cleanup()

    def pages(self, code):
        (self.html / "page.html").write_text(PAGE.replace("{code}", code))
        return check.load_pages(self.html)

    def test_broken_links_and_anchors(self):
        problems = check.link_problems(self.pages("int x = 1;"), self.html)
        self.assertEqual(len(problems), 2, problems)
        self.assertIn("no id 'gone'", problems[0])
        self.assertIn("other.html#x", problems[1])

    def test_a_listing_that_drifted_from_its_source(self):
        self.assertEqual(check.listing_problems(self.pages("int x = 1;"), self.root), [])
        problems = check.listing_problems(self.pages("int x = 2;"), self.root)
        self.assertEqual(len(problems), 1)
        self.assertIn("differs from its source region", problems[0])

    def test_highlighted_code_is_compared_as_text(self):
        pages = self.pages('<span class="dt">int</span> x <span class="op">=</span> 1;')
        self.assertEqual(check.listing_problems(pages, self.root), [])

    def test_a_tab_group_missing_languages(self):
        problems = check.tab_problems(self.pages("int x = 1;"))
        self.assertEqual(len(problems), 1)
        self.assertIn("missing java, node, haskell, ruby", problems[0])

    def test_a_chapter_without_listings(self):
        (self.html / "empty.html").write_text('<main data-page="chapter"><p>words</p></main>')
        (self.html / "preface.html").write_text("<main><p>words</p></main>")
        problems = check.chapter_problems(check.load_pages(self.html))
        self.assertEqual(problems, ["empty.html: a chapter with no listing"])


class Runs(unittest.TestCase):
    """A command's output is used again until one of its inputs is newer."""

    def test_a_capture_is_reused_until_an_input_changes(self):
        from bookkit import RunCache
        with tempfile.TemporaryDirectory() as d:
            source = Path(d) / "src" / "echo.c"
            source.parent.mkdir()
            source.write_text("int main;")
            os.utime(source, (1000, 1000))
            cache = RunCache(Path(d) / "runs", [source.parent])
            self.assertIsNone(cache.get("make chapter2"))
            cache.put("make chapter2", "READY 127.0.0.1:4000\n")
            self.assertEqual(cache.get("make chapter2"), "READY 127.0.0.1:4000\n")
            self.assertIsNone(cache.get("make chapter3"))
            captured = next((Path(d) / "runs").iterdir()).stat().st_mtime
            os.utime(source, (captured + 1, captured + 1))  # the source changes after the capture
            self.assertIsNone(RunCache(Path(d) / "runs", [source.parent]).get("make chapter2"))

    def test_newest_mtime_skips_node_modules(self):
        from bookkit import newest_mtime
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "node_modules").mkdir()
            (Path(d) / "a.js").write_text("")
            (Path(d) / "node_modules" / "b.js").write_text("")
            os.utime(Path(d) / "a.js", (2000, 2000))
            self.assertEqual(newest_mtime([d]), 2000)


class Editions(unittest.TestCase):
    """A one-language edition: each tab group as its language's listing alone,
    each demonstration limited to that language."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.ctx = build.Context(cache=RunCache(Path(self.dir.name), []))

    def tearDown(self):
        self.dir.cleanup()

    def test_the_demo_runner_is_limited_to_the_language(self):
        self.assertEqual(edition_command("make chapter2", "python"),
                         "INTEROP_LANGS=python make chapter2")
        self.assertEqual(edition_command("make chapters", "c"), "INTEROP_LANGS=c make chapters")
        self.assertEqual(edition_command("build/tests/demo unix-stream unix-dgram", "ruby"),
                         "INTEROP_LANGS=ruby build/tests/demo unix-stream unix-dgram")

    def test_other_commands_are_shown_as_they_are(self):
        for command in ("build/c/unix/bench", "make chapter", "make interop",
                        "build/tests/demonstrate"):
            self.assertEqual(edition_command(command, "java"), command)

    def test_a_command_splits_as_a_shell_reads_it(self):
        self.assertEqual(split_command("INTEROP_LANGS=c A=1=2 make chapter2 X=3"),
                         ({"INTEROP_LANGS": "c", "A": "1=2"}, ["make", "chapter2", "X=3"]))
        self.assertEqual(split_command("sh -c 'echo hi'"), ({}, ["sh", "-c", "echo hi"]))
        with self.assertRaisesRegex(BookError, "no command after the assignments"):
            split_command("A=1")

    def test_a_context_for_an_edition_shares_runs_not_sources(self):
        edition = self.ctx.edition("node")
        self.assertEqual(edition.lang, "node")
        self.assertIs(edition.runs, self.ctx.runs)
        self.assertIs(edition.diagrams, self.ctx.diagrams)
        self.assertIsNot(edition.sources, self.ctx.sources)

    def test_a_tab_group_becomes_the_language_alone(self):
        attrs = {"file": "stream/echo_server", "region": "accept"}
        six = build.listing_md(attrs, self.ctx)
        self.assertEqual(six.count('{.tab data-lang='), 6)
        one = build.listing_md(attrs, self.ctx.edition("haskell"))
        self.assertNotIn(".tabs", one)
        self.assertNotIn("tab-label", one)
        self.assertIn('data-file="haskell/stream/EchoServer.hs" data-region="accept" '
                      'data-example="stream/echo_server"', one)
        self.assertNotIn("c/stream/echo_server.c", one)

    def test_a_one_file_listing_is_the_same_in_every_edition(self):
        attrs = {"file": "c/stream/echo_server.c", "region": "accept"}
        self.assertEqual(build.listing_md(attrs, self.ctx.edition("ruby")),
                         build.listing_md(attrs, self.ctx))

    def test_an_edition_shows_and_runs_the_limited_command(self):
        edition = self.ctx.edition("python")
        edition.runs["INTEROP_LANGS=python make chapter2"] = "=== tcp: python server ==="
        self.assertEqual(build.run_md({"command": "make chapter2"}, edition),
                         "```{.output}\n$ INTEROP_LANGS=python make chapter2\n"
                         "=== tcp: python server ===\n```\n")

    def test_a_run_gets_its_assignments_and_not_the_callers_filter(self):
        saved = os.environ.get("INTEROP_LANGS")
        os.environ["INTEROP_LANGS"] = "java"
        try:
            out = build.run_md({"command": "sh -c 'echo ${INTEROP_LANGS:-all}'"}, self.ctx)
            self.assertIn("\nall\n", out)
            out = build.run_md({"command": "INTEROP_LANGS=ruby sh -c 'echo $INTEROP_LANGS'"},
                               self.ctx)
            self.assertIn("$ INTEROP_LANGS=ruby sh -c 'echo $INTEROP_LANGS'\nruby\n", out)
        finally:
            if saved is None:
                del os.environ["INTEROP_LANGS"]
            else:
                os.environ["INTEROP_LANGS"] = saved

    def test_where_an_edition_goes(self):
        edition = build.Edition("node")
        self.assertEqual(edition.dir, build.OUT / "editions" / "node")
        self.assertEqual(edition.epub.name, "socket-book-node.epub")
        self.assertEqual(edition.title, "The Socket Book: Node.js edition")

    def test_in_parallel_keeps_the_order_and_waits_for_all_before_failing(self):
        finished = []

        def fail():
            raise BookError("first")

        def slow():
            time.sleep(0.2)
            finished.append("slow")
            return 2

        with ThreadPoolExecutor(max_workers=2) as pool:
            self.assertEqual(build.in_parallel(pool, [lambda: 1, slow]), [1, 2])
            finished.clear()
            with self.assertRaisesRegex(BookError, "first"):
                build.in_parallel(pool, [fail, slow])
            self.assertEqual(finished, ["slow"])


EDITION_PAGE = """<html><body><main>
<div class="tabs" data-example="stream/echo_server" data-region="r"></div>
<div data-file="c/stream/echo_server.c" data-region="r" data-example="stream/echo_server"></div>
<div data-file="python/stream/echo_server.py" data-region="r" data-example="stream/echo_server"></div>
<div data-file="c/raw/sniffer.c" data-region="r"></div>
<pre class="output"><code>$ make chapter2
=== tcp: c server, c client ===</code></pre>
<pre class="output"><code>$ INTEROP_LANGS=python build/tests/demo tcp
=== tcp: python server, python client ===</code></pre>
<pre class="output"><code>$ build/c/unix/bench
unix-stream ...</code></pre>
</main></body></html>"""


class EditionChecker(unittest.TestCase):
    def test_tabs_other_languages_and_unlimited_demonstrations(self):
        with tempfile.TemporaryDirectory() as d:
            Path(d, "book.html").write_text(EDITION_PAGE)
            problems = check.edition_problems(check.load_pages(Path(d)), "python")
        self.assertEqual(len(problems), 3, problems)
        self.assertIn("a tab group (stream/echo_server) in the python edition", problems[0])
        self.assertIn("listing c/stream/echo_server.c stands for stream/echo_server", problems[1])
        self.assertIn("transcript 'make chapter2' in the python edition: "
                      "want 'INTEROP_LANGS=python make chapter2'", problems[2])


DEMO = build.ROOT / "build" / "tests" / "demo"


@unittest.skipUnless(DEMO.exists(), "needs the demo runner: make harness")
class DemoFilter(unittest.TestCase):
    """The demo runner honours INTEROP_LANGS (tests/harness/demo.c)."""

    def demo(self, langs, *kinds):
        return subprocess.run([DEMO, *kinds], cwd=build.ROOT, capture_output=True, text=True,
                              timeout=120, env={**os.environ, "INTEROP_LANGS": langs})

    def test_only_the_named_languages_are_shown(self):
        done = self.demo("ruby,c", "lookup")
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        sections = [line for line in done.stdout.splitlines() if line.startswith("=== ")]
        self.assertEqual(sections, ["=== lookup: c ===", "=== lookup: ruby ==="])

    def test_a_language_not_in_the_table_is_an_error(self):
        done = self.demo("c,pyhton", "lookup")
        self.assertEqual(done.returncode, 2)
        self.assertIn('INTEROP_LANGS: no language "pyhton"', done.stderr)
        self.assertEqual(done.stdout, "")


if __name__ == "__main__":
    unittest.main()
