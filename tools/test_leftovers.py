"""Unit tests for leftovers.py: it must see each kind of leftover, and nothing else."""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import leftovers  # noqa: E402


class NewThings(unittest.TestCase):
    def test_nothing_new_is_nothing(self):
        s = {"tmp": ["/tmp/a"], "processes": {"1": "x"}, "netns": [], "mounts": ["/ /"]}
        self.assertEqual(leftovers.new_things(s, s), [])

    def test_each_kind_is_named(self):
        before = {"tmp": ["/tmp/a"], "processes": {}, "netns": [], "mounts": ["/ /"]}
        after = {"tmp": ["/tmp/a", "/tmp/socketbook-x"], "processes": {"42": "sleep 60"},
                 "netns": ["t1"], "mounts": ["/ /", "/ /work/x"]}
        self.assertEqual(leftovers.new_things(before, after), [
            "file left behind: /tmp/socketbook-x",
            "network namespace left behind: t1",
            "mount left behind: / /work/x",
            "process left running: 42 sleep 60"])

    def test_something_gone_is_not_a_leftover(self):
        before = {"tmp": ["/tmp/a"], "processes": {"7": "x"}, "netns": [], "mounts": []}
        after = {"tmp": [], "processes": {}, "netns": [], "mounts": []}
        self.assertEqual(leftovers.new_things(before, after), [])


class Snapshot(unittest.TestCase):
    def test_sees_a_new_temporary_file(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(leftovers.temp_entries([d]), [])
            open(os.path.join(d, "left"), "w").close()
            self.assertEqual(leftovers.temp_entries([d]), [os.path.join(d, "left")])

    def test_ignores_only_the_patterns_it_is_given(self):
        with tempfile.TemporaryDirectory() as d:
            for name in ("bash_tool_1", "left"):
                open(os.path.join(d, name), "w").close()
            self.assertEqual(leftovers.temp_entries([d], ["bash_tool_*"]), [os.path.join(d, "left")])

    def test_sees_a_process_in_the_checkout_but_not_itself(self):
        with tempfile.TemporaryDirectory() as d:
            root = os.path.realpath(d)
            child = subprocess.Popen(["sleep", "30"], cwd=root)
            try:
                found = leftovers.checkout_processes(root)
                self.assertIn(str(child.pid), found)
                self.assertEqual(found[str(child.pid)], "sleep 30")
                self.assertNotIn(str(os.getpid()), found)
            finally:
                child.kill()
                child.wait()
            self.assertNotIn(str(child.pid), leftovers.checkout_processes(root))


if __name__ == "__main__":
    unittest.main()
