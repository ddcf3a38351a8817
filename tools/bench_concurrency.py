#!/usr/bin/env python3
"""bench-concurrency -- chapter 6's measured table: every `tcp-many` server of
tests/interop/implementations.tsv under the same loads from sockload
(tests/load), one server at a time, in one run.

usage: tools/bench_concurrency.py [--quick] [--c10k] [--only TEXT] [--quiet] [--out DIR] [--table TSV]

For each server: messages a second and the p99 round trip with 100
connections echoing 64 bytes back and forth; connections a second (connect,
echo, close); the server's CPU seconds for a fixed 20,000 messages (utime +
stime of its whole process group, children included: UNP chapter 30's
measure, which a busy machine does not inflate the way it does wall-clock
time); and its memory (PSS, children included) with 1,000 idle connections
held open. Writes DIR/concurrency.json, DIR/concurrency.svg (gnuplot) and
prints the table, with the date and the machine. --quick shortens the timed
runs (`make bench-chapter6 QUICK=1`); the numbers are then rougher.

Standard library only. With --strict, exit 1 if a server failed to start or a
measurement failed (the table says which either way), or with --c10k if
the C epoll server missed its target; 2 for bad usage. Without it -- the
book's transcripts -- a busy machine's missed figure is reported, not fatal.
"""

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "tests" / "interop" / "implementations.tsv"
SOCKLOAD = ROOT / "build" / "tests" / "sockload"
READY_TIMEOUT_S = 60
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """A server or a measurement that failed; the message says how."""


def servers(table=TABLE):
    """(label, command) of every tcp-many server, in table order."""
    rows = []
    for line in table.read_text(encoding="utf-8").splitlines()[1:]:
        if not line.strip() or line.startswith("#"):
            continue
        lang, kind, role, variant, command = line.split("\t")
        if kind == "tcp-many" and role == "server":
            rows.append((f"{lang}/{variant}", command))
    return rows


def group_of(pid):
    """The pids of process group pid (the server and whatever it started)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[2]) == pid:  # field 5, pgrp, counting from the state
                pids.append(int(entry.name))
    return pids


def cpu_seconds(pid):
    """utime + stime of the group, plus the reaped children of its leader."""
    total = 0
    for p in group_of(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if p == pid:
            total += int(fields[13]) + int(fields[14])  # cutime, cstime
    return total / CLK_TCK


def pss_mb(pid):
    """The group's proportional set size in MB: shared pages split among sharers."""
    kib = 0
    for p in group_of(pid):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    kib += int(line.split()[1])
        except OSError:
            continue
    return kib / 1024


class Server:
    """A server started in a process group of its own, up to its READY line."""

    def __init__(self, command):
        self.proc = subprocess.Popen(command.split() + ["--port", "0"], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, start_new_session=True)
        line = [None]
        reader = threading.Thread(target=lambda: line.__setitem__(0, self.proc.stdout.readline()))
        reader.start()
        reader.join(READY_TIMEOUT_S)
        if not line[0] or not line[0].startswith("READY "):
            self.stop()
            raise BenchError(f"no READY line within {READY_TIMEOUT_S} s")
        self.port = line[0].strip().rpartition(":")[2]

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # whatever did not stop
        except ProcessLookupError:
            pass
        self.proc.wait()


def sockload(port, *args, timeout=120):
    """Runs sockload against port; its JSON report, or BenchError with its error."""
    argv = [str(SOCKLOAD), "--port", port, *map(str, args)]
    started = time.monotonic()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError(f"sockload {' '.join(map(str, args))}: no result in {timeout} s") from None
    if done.returncode != 0:
        raise BenchError(done.stderr.strip().splitlines()[-1] if done.stderr.strip()
                         else f"sockload exited {done.returncode}")
    if os.environ.get("BENCH_VERBOSE"):
        print(f"  {' '.join(map(str, args))}: {time.monotonic() - started:.1f} s", file=sys.stderr)
    return json.loads(done.stdout)


def while_sampling(pid, run, size=pss_mb):
    """Runs run() while sampling the group's memory (size: pss_mb or rss_mb)
    every 100 ms; (result, max MB)."""
    peak, stop = [0.0], threading.Event()

    def sample():
        while not stop.wait(0.1):
            peak[0] = max(peak[0], size(pid))
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        return run(), peak[0]
    finally:
        stop.set()
        sampler.join()


def measure(command, quick):
    """One server's row: a dict of figures (or of BenchError texts)."""
    seconds = 0.5 if quick else 3
    server = Server(command)
    row = {}
    try:
        port, pid = server.port, server.proc.pid
        sockload(port, "--mode", "pingpong", "--connections", 10, "--count", 50)  # warm up
        ping = sockload(port, "--mode", "pingpong", "--connections", 100, "--duration", seconds)
        row["msgs_per_s"] = ping["msgs_per_s"]
        row["p99_ms"] = ping["rtt_us"]["p99"] / 1000
        rate = sockload(port, "--mode", "rate", "--connections", 20, "--duration", seconds)
        row["conns_per_s"] = rate["connections_per_s"]
        before = cpu_seconds(pid)
        sockload(port, "--mode", "pingpong", "--connections", 100, "--count", 200)
        row["cpu_s_per_20k"] = cpu_seconds(pid) - before
        row["idle_mb"] = pss_mb(pid)
        _, row["mb_at_1000"] = while_sampling(pid, lambda: sockload(
            port, "--mode", "hold", "--connections", 1000, "--duration", 0.5 if quick else 2))
    except BenchError as e:
        row["error"] = str(e)
    finally:
        server.stop()
    return row


def rss_mb(pid):
    """The group's resident set size in MB (shared pages counted in each process)."""
    kib = 0
    for p in group_of(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    kib += int(line.split()[1])
        except OSError:
            continue
    return kib / 1024


# C10K: how many connections each design holds while every one of them sends
# one 64-byte message a second and checks its echo; the C epoll server's target.
C10K_STEPS = (1000, 5000, 10000)
C10K_TARGET = {"server": "c/epoll", "connections": 10000, "p99_ms": 5.0, "rss_mb": 64.0}


def c10k_row(command, seconds):
    """{connections: figures} for each step this server passes, up to the first it fails."""
    row = {}
    for n in C10K_STEPS:
        server = Server(command)
        try:
            ping, peak = while_sampling(server.proc.pid, lambda: sockload(
                server.port, "--mode", "pingpong", "--connections", n, "--rate", 1,
                "--duration", seconds, timeout=seconds + 180), size=rss_mb)
            row[n] = {"p99_ms": ping["rtt_us"]["p99"] / 1000, "messages": ping["messages"],
                      "rss_mb": peak, "connect_s": ping["connect_s"]}
        except BenchError as e:
            row[n] = {"error": str(e)}
            break
        finally:
            server.stop()
    return row


def c10k_text(results):
    """The C10K table: per server and step, p99 and memory, or why it stopped."""
    lines = [["server"] + [f"{n:,} connections" for n in C10K_STEPS]]
    for label, row in results:
        cells = [label]
        for n in C10K_STEPS:
            got = row.get(n)
            cells.append("-" if got is None else "failed: " + got["error"] if "error" in got
                         else f"p99 {got['p99_ms']:.2f} ms, {got['rss_mb']:.0f} MB")
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join(c.ljust(widths[i]) for i, c in enumerate(line)).rstrip()
                     for line in lines)


def c10k_verdict(results):
    """Whether the C epoll server met its target, in words; and a bool."""
    t = C10K_TARGET
    got = dict(results).get(t["server"], {}).get(t["connections"])
    if not got or "error" in got:
        return f"{t['server']} did not hold {t['connections']:,} connections", False
    ok = got["p99_ms"] <= t["p99_ms"] and got["rss_mb"] <= t["rss_mb"]
    return (f"{t['server']} with {t['connections']:,} connections: p99 {got['p99_ms']:.2f} ms "
            f"(target {t['p99_ms']:.0f} ms), RSS {got['rss_mb']:.1f} MB (target "
            f"{t['rss_mb']:.0f} MB): {'met' if ok else 'NOT met'}"), ok


COLUMNS = [("msgs_per_s", "msg/s (100 conns)", "{:.0f}"), ("p99_ms", "p99 ms", "{:.2f}"),
           ("conns_per_s", "conn/s", "{:.0f}"), ("cpu_s_per_20k", "CPU s / 20k msgs", "{:.2f}"),
           ("mb_at_1000", "MB at 1,000 idle", "{:.1f}")]


def table_text(results):
    """The table as text: one line per server, a cell per figure."""
    head = ["server"] + [title for _, title, _ in COLUMNS]
    lines = [head]
    for label, row in results:
        cells = [label] + [fmt.format(row[key]) if key in row else "-" for key, _, fmt in COLUMNS]
        if "error" in row:
            cells.append("failed: " + row["error"])
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines if i < len(line)) for i in range(len(head))]
    return "\n".join("  ".join(cell.ljust(widths[i]) if i < len(widths) else cell
                               for i, cell in enumerate(line)).rstrip() for line in lines)


def machine():
    """What the figures were measured on."""
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.machine())
    return f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}"


def plot(results, out):
    """A bar chart of messages a second, as SVG (gnuplot), without its DOCTYPE (EPUB)."""
    data = out / "concurrency.dat"
    data.write_text("".join(f'"{label}" {row.get("msgs_per_s", 0):.0f}\n' for label, row in results))
    svg = out / "concurrency.svg"
    script = (f'set terminal svg size 720,360 font "sans,11"; set output "{svg}";'
              'set style data histograms; set style fill solid 0.8; set boxwidth 0.7;'
              'set ylabel "messages a second, 100 connections"; set yrange [0:*];'
              'set xtics rotate by -45 nomirror; set grid ytics; unset key;'
              f'plot "{data}" using 2:xtic(1) lc rgb "#3a6ea5"')
    done = subprocess.run(["gnuplot", "-e", script], capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"gnuplot: {done.stderr.strip()}")
    text = svg.read_text(encoding="utf-8")
    start = text.find("<!DOCTYPE")
    if start >= 0:
        text = text[:start] + text[text.index(">", start) + 1:]
    svg.write_text(text, encoding="utf-8")
    data.unlink()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bench_concurrency.py", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timed runs (rougher numbers)")
    parser.add_argument("--out", default=str(ROOT / "build" / "bench"), help="where the results go")
    parser.add_argument("--table", default=str(TABLE), help="the table of examples")
    parser.add_argument("--c10k", action="store_true",
                        help="instead: how many connections each design holds (1k, 5k, 10k), "
                             "each sending a message a second")
    parser.add_argument("--only", help="only servers whose label has this text (c/epoll)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 if a measurement failed (or, --c10k, the target was missed); "
                             "without it the table says so and the exit status is 0")
    args = parser.parse_args(argv)
    if not SOCKLOAD.is_file():
        print(f"bench-concurrency: {SOCKLOAD} is missing: run make first", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    chosen = [(label, command) for label, command in servers(Path(args.table))
              if not args.only or args.only in label]
    if args.c10k:
        return c10k(chosen, out, 3 if args.quick else 10, args)
    results = []
    for label, command in chosen:
        progress(args, label)
        try:
            results.append((label, measure(command, args.quick)))
        except BenchError as e:
            results.append((label, {"error": str(e)}))
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    report = {"date": when, "machine": machine(), "quick": args.quick,
              "servers": [{"server": label, **row} for label, row in results]}
    (out / "concurrency.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    plot(results, out)
    print(f"Measured {when} on {machine()}{' (quick run)' if args.quick else ''}:\n")
    print(table_text(results))
    return 1 if args.strict and any("error" in row for _, row in results) else 0


def progress(args, label):
    """A line on stderr as each server's turn comes (unless --quiet)."""
    if not args.quiet:
        print(f"bench-concurrency: {label} ...", file=sys.stderr, flush=True)


def c10k(chosen, out, seconds, args):
    """The C10K run: a table, c10k.json, and exit 0 only if the target was met."""
    results = []
    for label, command in chosen:
        progress(args, f"c10k {label}")
        try:
            results.append((label, c10k_row(command, seconds)))
        except BenchError as e:
            results.append((label, {C10K_STEPS[0]: {"error": str(e)}}))
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    verdict, ok = c10k_verdict(results)
    report = {"date": when, "machine": machine(), "seconds": seconds, "target": C10K_TARGET,
              "verdict": verdict, "servers": [{"server": label, **{str(n): v for n, v in row.items()}}
                                              for label, row in results]}
    (out / "c10k.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"Measured {when} on {machine()}: every connection sends 64 bytes a second for "
          f"{seconds} s and checks the echo.\n")
    print(c10k_text(results))
    print(f"\n{verdict}")
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
