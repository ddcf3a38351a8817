"""Unit tests for bench_concurrency.py's own helpers: the table it reads, the
table it prints, and the process-group accounting it measures with."""
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_concurrency as bench  # noqa: E402


class Table(unittest.TestCase):
    def test_only_tcp_many_servers_with_their_variant(self):
        with tempfile.TemporaryDirectory() as d:
            tsv = Path(d, "t.tsv")
            tsv.write_text("lang\tkind\trole\tvariant\tcommand\n# a comment\n\n"
                           "c\ttcp\tserver\t-\tbuild/c/stream/echo_server\n"
                           "c\ttcp-many\tserver\tepoll\tbuild/c/concurrency/epoll_server\n"
                           "node\ttcp-many\tserver\tloop\tnode node/concurrency/loop_server.js\n")
            self.assertEqual(bench.servers(tsv), [
                ("c/epoll", "build/c/concurrency/epoll_server"),
                ("node/loop", "node node/concurrency/loop_server.js")])

    def test_the_real_table_has_every_design(self):
        labels = [label for label, _ in bench.servers()]
        self.assertIn("c/epoll", labels)
        self.assertEqual(len(labels), len(set(labels)))


class Printing(unittest.TestCase):
    def test_cells_line_up_and_failures_say_why(self):
        text = bench.table_text([
            ("c/epoll", {"msgs_per_s": 51234.4, "p99_ms": 1.234, "conns_per_s": 9000,
                         "cpu_s_per_20k": 0.1, "mb_at_1000": 3.25}),
            ("ruby/select", {"msgs_per_s": 900, "error": "sockload: connection 3: reset"})])
        lines = text.splitlines()
        self.assertEqual(len(lines), 3)
        self.assertTrue(lines[1].startswith("c/epoll      51234"), lines[1])
        self.assertIn("1.23", lines[1])
        self.assertIn("failed: sockload: connection 3: reset", lines[2])
        self.assertIn(" - ", lines[2])  # a figure it never got
        self.assertEqual(lines[0].index("msg/s"), lines[1].index("51234"))


class C10K(unittest.TestCase):
    def test_steps_until_the_first_failure_and_the_verdict(self):
        results = [("c/epoll", {1000: {"p99_ms": 0.5, "rss_mb": 3}, 5000: {"p99_ms": 0.9, "rss_mb": 9},
                                10000: {"p99_ms": 1.5, "rss_mb": 20}}),
                   ("ruby/select", {1000: {"p99_ms": 9.0, "rss_mb": 30},
                                    5000: {"error": "sockload: connect: Connection timed out"}})]
        text = bench.c10k_text(results)
        self.assertIn("p99 1.50 ms, 20 MB", text)
        self.assertIn("failed: sockload: connect: Connection timed out", text.splitlines()[2])
        self.assertTrue(text.splitlines()[2].endswith("  -"), text)  # 10k never tried
        verdict, ok = bench.c10k_verdict(results)
        self.assertTrue(ok, verdict)
        results[0][1][10000]["rss_mb"] = 80
        self.assertEqual(bench.c10k_verdict(results)[1], False)
        self.assertIn("NOT met", bench.c10k_verdict(results)[0])


class Accounting(unittest.TestCase):
    def test_a_group_counts_its_children_and_their_cpu(self):
        # A group leader that starts a child burning CPU, then reaps it.
        script = ("import os, time\n"
                  "pid = os.fork()\n"
                  "if pid == 0:\n"
                  "    end = time.process_time() + 0.3\n"
                  "    while time.process_time() < end: pass\n"
                  "    os._exit(0)\n"
                  "os.waitpid(pid, 0)\n"
                  "print('done', flush=True)\n"
                  "time.sleep(30)\n")
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                                text=True, start_new_session=True)
        try:
            self.assertEqual(proc.stdout.readline().strip(), "done")
            self.assertEqual(bench.group_of(proc.pid), [proc.pid])
            self.assertGreaterEqual(bench.cpu_seconds(proc.pid), 0.25)  # the reaped child's
            self.assertGreater(bench.pss_mb(proc.pid), 1)
        finally:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    unittest.main()
