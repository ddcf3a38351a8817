#!/usr/bin/env python3
"""leftovers.py -- did a test run leave anything behind?

    leftovers.py snapshot FILE   record what exists now
    leftovers.py check FILE      compare with FILE: exit 1, naming each thing
                                 that is new (a file in $TMPDIR or /tmp, a
                                 process of this checkout, a named network
                                 namespace, a mount), else exit 0

`make test` takes a snapshot first and checks last (issue 11: a run leaves
nothing behind). LEFTOVERS_IGNORE, space-separated shell patterns, names
temporary entries that another program on the machine makes meanwhile and
that the run is not to blame for (e.g. LEFTOVERS_IGNORE='bash_tool_*')."""

import fnmatch
import json
import os
import subprocess
import sys


def temp_dirs():
    """The directories a run must not leave entries in."""
    dirs = {os.environ.get("TMPDIR") or "/tmp", "/tmp"}
    return sorted(d for d in dirs if os.path.isdir(d))


def temp_entries(dirs, ignore=()):
    return sorted(os.path.join(d, name) for d in dirs for name in os.listdir(d)
                  if not any(fnmatch.fnmatch(name, pattern) for pattern in ignore))


def checkout_processes(root, me=None):
    """Processes whose working directory is in the checkout, but for this one
    and its ancestors (make itself): {pid: command line}."""
    me = me or os.getpid()
    ancestors = set()
    pid = me
    while pid > 1:
        ancestors.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in ancestors:
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # gone, or not ours to look at
        if cmd and (cwd == root or cwd.startswith(root + os.sep)):
            found[entry] = cmd
    return found


def named_netns():
    try:
        return sorted(os.listdir("/run/netns"))
    except OSError:
        return []


def mounts():
    with open("/proc/self/mountinfo") as f:
        return sorted(" ".join(line.split()[3:5]) for line in f)  # root and mount point


def snapshot(root):
    ignore = os.environ.get("LEFTOVERS_IGNORE", "").split()
    return {"tmp": temp_entries(temp_dirs(), ignore), "processes": checkout_processes(root),
            "netns": named_netns(), "mounts": mounts()}


def new_things(before, after):
    """What `after` has that `before` had not, as lines of text."""
    lines = []
    for key, what in (("tmp", "file"), ("netns", "network namespace"), ("mounts", "mount")):
        lines += [f"{what} left behind: {x}" for x in after[key] if x not in set(before[key])]
    lines += [f"process left running: {pid} {cmd}" for pid, cmd in sorted(after["processes"].items())
              if pid not in before["processes"]]
    return lines


def main(argv):
    if len(argv) != 3 or argv[1] not in ("snapshot", "check"):
        print("usage: leftovers.py snapshot|check FILE", file=sys.stderr)
        return 2
    root = os.path.realpath(os.getcwd())
    if argv[1] == "snapshot":
        with open(argv[2], "w") as f:
            json.dump(snapshot(root), f)
        return 0
    with open(argv[2]) as f:
        before = json.load(f)
    lines = new_things(before, snapshot(root))
    for line in lines:
        print(f"leftovers: {line}", file=sys.stderr)
    if lines:
        print(f"leftovers: {len(lines)} things left behind by the test run", file=sys.stderr)
        return 1
    print("leftovers: nothing left behind (temporary files, processes, namespaces, mounts)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
