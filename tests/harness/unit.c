/* unit.c -- Criterion unit tests for the harness's own helpers. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cases.h"
#include "checks.h"
#include "compare.h"
#include "crowd.h"
#include "net.h"
#include "payloads.h"
#include "proc.h"
#include "progress.h"
#include "ready.h"
#include "results.h"
#include "run.h"
#include "table.h"
#include "rawnet.h"
#include "unixnet.h"

/* ---- READY parsing -------------------------------------------------------- */

Test(ready, parses_ipv4)
{
    struct ready r;
    cr_assert_eq(ready_parse("READY 127.0.0.1:40123", &r), 0);
    cr_assert_str_eq(r.host, "127.0.0.1");
    cr_assert_eq(r.port, 40123);
}

Test(ready, parses_bracketed_ipv6)
{
    struct ready r;
    cr_assert_eq(ready_parse("READY [::1]:8080", &r), 0);
    cr_assert_str_eq(r.host, "::1");
    cr_assert_eq(r.port, 8080);
}

Test(ready, parses_unix_paths)
{
    struct ready r;
    cr_assert_eq(ready_parse("READY /tmp/echo.sock", &r), 0);
    cr_assert_str_eq(r.host, "/tmp/echo.sock");
    cr_assert_eq(r.port, 0);
    cr_assert_eq(ready_parse("READY @abstract-name", &r), 0);
    cr_assert_str_eq(r.host, "@abstract-name");
}

Test(ready, rejects_malformed_lines)
{
    struct ready r;
    const char *bad[] = {
        "",                     "READY",          "READY ",          "ready 127.0.0.1:1",
        "READY 127.0.0.1.",     "READY 127.0.0.1:", "READY 127.0.0.1:0", "READY 127.0.0.1:65536",
        "READY 127.0.0.1:12ab", "READY ::1:80",   "READY [::1]80",   "READY [::1]:",
        "READY :80",            "READY 1.2.3.4:5 extra", " READY 1.2.3.4:5",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_expect_eq(ready_parse(bad[i], &r), -1, "accepted \"%s\"", bad[i]);
}

Test(ready, read_line_stops_at_newline_and_times_out)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    cr_assert_eq(write(fds[1], "READY 1.2.3.4:5\nmore", 20), 20);
    char buf[64];
    cr_assert_eq(read_line(fds[0], buf, sizeof buf, 1000), 0);
    cr_assert_str_eq(buf, "READY 1.2.3.4:5");
    /* "more" has no newline: a timeout, with what arrived kept for the message */
    long long start = now_ms();
    cr_assert_eq(read_line(fds[0], buf, sizeof buf, 100), -1);
    cr_assert_str_eq(buf, "more");
    cr_assert_geq(now_ms() - start, 90);
    close(fds[1]); /* end of file before a newline */
    cr_assert_eq(read_line(fds[0], buf, sizeof buf, 1000), -1);
    close(fds[0]);
}

/* ---- usage lines -------------------------------------------------------------- */

Test(usage, parses_name_first_value_flag_and_first_required_flag)
{
    struct usage u;
    cr_assert_eq(usage_parse("usage: echo_client [--host H] --port P [--timeout S] [--retries N]", &u), 0);
    cr_assert_str_eq(u.prog, "echo_client");
    cr_assert_str_eq(u.value_flag, "--host");
    cr_assert_str_eq(u.required, "--port");
    cr_assert_eq(usage_parse("usage: echo_server [--host H] [--port P]", &u), 0);
    cr_assert_str_eq(u.required, "", "every flag of a server is optional");
    cr_assert_eq(usage_parse("usage: fd_server --path P --file F [--mode M]", &u), 0);
    cr_assert_str_eq(u.value_flag, "--path");
    cr_assert_str_eq(u.required, "--path");
    cr_assert_eq(usage_parse("usage: bench", &u), 0);
    cr_assert_str_eq(u.value_flag, "");
    cr_assert_eq(usage_parse("Usage: x", &u), -1);
    cr_assert_eq(usage_parse("usage: x --a --b", &u), -1, "a flag with no value");
}

/* ---- where a kind's programs listen and send ------------------------------- */

Test(where, each_addressing_gets_its_flags)
{
    struct where_args w;
    server_where(kind_spec_find("tcp"), "::1", NULL, &w);
    cr_assert_str_eq(w.shown, "--host ::1 --port 0");
    cr_assert_str_eq(w.argv[3], "0");
    cr_assert_null(w.argv[4]);
    server_where(NULL, NULL, NULL, &w); /* a chapter demonstration: the default host */
    cr_assert_str_eq(w.shown, "--port 0");
    server_where(kind_spec_find("raw"), "127.53.0.9", "unused", &w);
    cr_assert_str_eq(w.shown, "--host 127.53.0.9");
    server_where(kind_spec_find("unix-stream"), "/s/x.sock", "served", &w);
    cr_assert_str_eq(w.shown, "--path /s/x.sock", "only fd_server is given a --file");
    server_where(kind_spec_find("fdpass"), "@name", "served", &w);
    cr_assert_str_eq(w.shown, "--path @name --file served");
    cr_assert_null(w.argv[4]);

    client_where(kind_spec_find("udp"), "127.0.0.1", 4242, true, &w);
    cr_assert_str_eq(w.shown, "--host 127.0.0.1 --port 4242");
    cr_assert_str_eq(w.argv[3], "4242");
    client_where(kind_spec_find("udp"), "127.0.0.1", 4242, false, &w);
    cr_assert_str_eq(w.shown, "--port 4242");
    client_where(kind_spec_find("raw"), "127.53.0.9", 0, true, &w);
    cr_assert_str_eq(w.shown, "--host 127.53.0.9");
    client_where(kind_spec_find("peercred"), "/s/x.sock", 0, true, &w);
    cr_assert_str_eq(w.shown, "--path /s/x.sock");
    cr_assert_null(w.argv[2]);
}

/* ---- payload comparison --------------------------------------------------- */

Test(compare, equal_buffers_have_no_difference)
{
    cr_assert_eq(first_difference((const unsigned char *)"abc", 3, (const unsigned char *)"abc", 3), -1);
    cr_assert_eq(first_difference(NULL, 0, NULL, 0), -1);
}

Test(compare, finds_the_first_differing_byte)
{
    cr_assert_eq(first_difference((const unsigned char *)"abcd", 4, (const unsigned char *)"abXd", 4), 2);
    cr_assert_eq(first_difference((const unsigned char *)"abc", 3, (const unsigned char *)"ab", 2), 2);
    cr_assert_eq(first_difference((const unsigned char *)"", 0, (const unsigned char *)"x", 1), 0);
}

Test(compare, describes_offset_and_hex)
{
    char buf[256];
    describe_difference((const unsigned char *)"\x01\x02\x03", 3, (const unsigned char *)"\x01\xff", 2,
                        buf, sizeof buf);
    cr_assert_str_eq(buf, "expected 3 bytes, got 2; first difference at offset 1: expected 02 03, got ff");
    describe_difference((const unsigned char *)"ab", 2, (const unsigned char *)"ab", 2, buf, sizeof buf);
    cr_assert_str_eq(buf, "identical");
    describe_difference((const unsigned char *)"ab", 2, (const unsigned char *)"abc", 3, buf, sizeof buf);
    cr_assert_str_eq(buf, "expected 2 bytes, got 3; first difference at offset 2: expected (end of data), got 63");
}

Test(compare, counts_lines)
{
    cr_assert_eq(count_lines((const unsigned char *)"", 0), 0);
    cr_assert_eq(count_lines((const unsigned char *)"one\n", 4), 1);
    cr_assert_eq(count_lines((const unsigned char *)"one", 3), 1);
    cr_assert_eq(count_lines((const unsigned char *)"one\ntwo", 7), 2);
}

Test(compare, random_payloads_are_reproducible)
{
    unsigned char a[4096], b[4096], c[4096];
    fill_random(a, sizeof a, 42);
    fill_random(b, sizeof b, 42);
    fill_random(c, sizeof c, 43);
    cr_assert_eq(memcmp(a, b, sizeof a), 0);
    cr_assert_neq(memcmp(a, c, sizeof a), 0);
    int seen[256] = {0}, distinct = 0;
    for (size_t i = 0; i < sizeof a; i++)
        distinct += !seen[a[i]]++;
    cr_assert_gt(distinct, 250, "only %d distinct byte values", distinct);
}

/* ---- the table ------------------------------------------------------------ */

Test(table, parses_rows_and_skips_comments)
{
    struct table t;
    char err[256];
    const char *text = "lang\tkind\trole\tvariant\tcommand\n"
                       "# a comment\n"
                       "\n"
                       "c\ttcp\tserver\t-\tbuild/c/stream/echo_server\n"
                       "python\ttcp\tclient\t-\tpython3 python/stream/echo_client.py\n"
                       "c\ttcp-many\tserver\tfork\tbuild/c/concurrency/fork_server\n"
                       "c\ttcp-many\tserver\tepoll\tbuild/c/concurrency/epoll_server\n";
    cr_assert_eq(table_parse(text, "t.tsv", &t, err, sizeof err), 0, "%s", err);
    cr_assert_eq(t.len, 4);
    char label[64];
    const struct impl *epoll = table_find_variant(&t, "tcp-many", "c", "server", "epoll");
    cr_assert_not_null(epoll);
    cr_assert_str_eq(epoll->command, "build/c/concurrency/epoll_server");
    cr_assert_str_eq(impl_label(epoll, label, sizeof label), "c/epoll");
    cr_assert_str_eq(impl_label(&t.rows[0], label, sizeof label), "c");
    cr_assert_null(table_find_variant(&t, "tcp-many", "c", "server", "poll"));
    const struct impl *py = table_find(&t, "tcp", "python", "client");
    cr_assert_not_null(py);
    cr_assert_str_eq(py->command, "python3 python/stream/echo_client.py");
    cr_assert_null(table_find(&t, "tcp", "python", "server"));
    table_free(&t);
}

Test(table, reports_file_and_line_of_errors)
{
    struct table t;
    char err[256];
    cr_assert_eq(table_parse("lang kind role command\n", "t.tsv", &t, err, sizeof err), -1);
    cr_assert(strstr(err, "t.tsv:1:"), "%s", err);
#define HEADER "lang\tkind\trole\tvariant\tcommand\n"
    cr_assert_eq(table_parse("lang\tkind\trole\tcommand\n", "t.tsv", &t, err, sizeof err), -1);
    cr_assert(strstr(err, "t.tsv:1: the header must be"), "%s", err);
    cr_assert_eq(table_parse(HEADER "\nc\ttcp\tserver\t-\n", "t.tsv", &t, err, sizeof err), -1);
    cr_assert(strstr(err, "t.tsv:3: expected 5"), "%s", err);
    cr_assert_eq(table_parse(HEADER "c\ttcp\tpeer\t-\tx\n", "t.tsv", &t, err, sizeof err), -1);
    cr_assert(strstr(err, "t.tsv:2: role"), "%s", err);
    cr_assert_eq(table_parse(HEADER "c\ttcp\tserver\t-\tx\nc\ttcp\tserver\t-\ty\n", "t.tsv",
                             &t, err, sizeof err), -1);
    cr_assert(strstr(err, "t.tsv:3: c tcp server is listed twice"), "%s", err);
    cr_assert_eq(table_parse(HEADER "c\ttcp-many\tserver\tpoll\tx\nc\ttcp-many\tserver\tpoll\ty\n",
                             "t.tsv", &t, err, sizeof err), -1);
    cr_assert(strstr(err, "t.tsv:3: c/poll tcp-many server is listed twice"), "%s", err);
#undef HEADER
}

Test(table, the_real_table_loads)
{
    struct table t;
    char err[256];
    cr_assert_eq(table_load("tests/interop/implementations.tsv", &t, err, sizeof err), 0, "%s", err);
    cr_assert_gt(t.len, 0);
    table_free(&t);
}

Test(table, splits_commands_and_appends_arguments)
{
    char words[256], *argv[MAX_ARGS];
    int n = build_argv("java  -cp build/java/stream EchoServer", (const char *[]){"--port", "0", NULL},
                       words, sizeof words, argv);
    cr_assert_eq(n, 6);
    cr_assert_str_eq(argv[0], "java");
    cr_assert_str_eq(argv[3], "EchoServer");
    cr_assert_str_eq(argv[5], "0");
    cr_assert_null(argv[6]);
}

/* ---- process cleanup ------------------------------------------------------ */

Test(proc, wait_times_out_and_cleanup_kills_the_whole_group)
{
    struct child c;
    /* Orphans come to us (not init), so we can reap the grandchild below. */
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    /* The shell starts a grandchild; both must die with the group. */
    char *argv[] = {"sh", "-c", "sleep 100 & sleep 100", NULL};
    cr_assert_eq(child_start(&c, argv, (struct stdio_fds){-1, -1, -1}), 0);
    pid_t group = c.pid;
    cr_assert_not(child_wait(&c, 100), "sleep 100 exited early");
    child_cleanup(&c);
    while (waitpid(-1, NULL, 0) > 0) /* reap the killed grandchild */
        ;
    cr_assert_eq(kill(-group, 0), -1, "process group %d still alive", group);
    cr_assert_eq(errno, ESRCH);
    child_cleanup(&c); /* twice is harmless */
}

Test(proc, reports_exit_status_and_signals)
{
    struct child c;
    char buf[96];
    char *ok[] = {"sh", "-c", "exit 3", NULL};
    cr_assert_eq(child_start(&c, ok, (struct stdio_fds){-1, -1, -1}), 0);
    cr_assert(child_wait(&c, 5000));
    cr_assert(child_exited_with(&c, 3));
    cr_assert_str_eq(child_describe(&c, buf, sizeof buf), "exit 3");
    child_cleanup(&c);

    char *sleeper[] = {"sleep", "100", NULL};
    cr_assert_eq(child_start(&c, sleeper, (struct stdio_fds){-1, -1, -1}), 0);
    child_signal(&c, SIGTERM);
    cr_assert(child_wait(&c, 5000));
    cr_assert_not(child_exited_with(&c, 0));
    cr_assert(strstr(child_describe(&c, buf, sizeof buf), "killed by signal 15"), "%s", buf);
    child_cleanup(&c);
}

Test(proc, a_missing_program_exits_127)
{
    struct child c;
    char *argv[] = {"/nonexistent/program", NULL};
    cr_assert_eq(child_start(&c, argv, (struct stdio_fds){-1, -1, -1}), 0);
    cr_assert(child_wait(&c, 5000));
    cr_assert(child_exited_with(&c, 127));
    child_cleanup(&c);
}

Test(proc, server_start_fails_cleanly_without_a_ready_line)
{
    struct scratch tmp;
    struct server s;
    char err[320], why[512];
    cr_assert_eq(scratch_create(&tmp), 0);
    scratch_path(&tmp, "err", err, sizeof err);
    cr_assert_eq(server_start(&s, "sh -c echo\\ hi", NULL, err, 2000, why, sizeof why), -1);
    cr_assert_eq(server_start(&s, "echo READY nowhere", NULL, err, 2000, why, sizeof why), -1);
    cr_assert(strstr(why, "malformed READY line"), "%s", why);
    cr_assert_eq(server_start(&s, "sleep 5", NULL, err, 100, why, sizeof why), -1);
    cr_assert(strstr(why, "no READY line within 100 ms"), "%s", why);
    char dir[sizeof tmp.dir];
    snprintf(dir, sizeof dir, "%s", tmp.dir); /* scratch_remove blanks tmp.dir */
    scratch_remove(&tmp);
    cr_assert_eq(access(dir, F_OK), -1, "scratch directory %s left behind", dir);
}

/* A scratch directory goes with everything in it, subdirectories too (a unix
 * client's TMPDIR is one), and symbolic links are removed, not followed. */
Test(scratch, removes_nested_directories_and_not_what_links_point_to)
{
    struct scratch tmp, outside;
    char path[320], dir[sizeof tmp.dir], kept[320];
    cr_assert_eq(scratch_create(&tmp), 0);
    cr_assert_eq(scratch_create(&outside), 0);
    cr_assert_eq(write_file(scratch_path(&outside, "kept", kept, sizeof kept), "x", 1), 0);
    cr_assert_eq(mkdir(scratch_path(&tmp, "client-tmp", path, sizeof path), 0700), 0);
    cr_assert_eq(mkdir(scratch_path(&tmp, "client-tmp/deeper", path, sizeof path), 0700), 0);
    cr_assert_eq(write_file(scratch_path(&tmp, "client-tmp/deeper/file", path, sizeof path), "x", 1), 0);
    cr_assert_eq(symlink(outside.dir, scratch_path(&tmp, "link", path, sizeof path)), 0);
    snprintf(dir, sizeof dir, "%s", tmp.dir);
    scratch_remove(&tmp);
    cr_expect_eq(access(dir, F_OK), -1, "scratch directory %s left behind", dir);
    cr_expect_eq(access(kept, F_OK), 0, "removing a link removed what it points to");
    scratch_remove(&outside);
}

/* ---- deadlines: they still fail a broken program (CONTRACT.md, "Deadlines") --- */

#define MUTANTS "tests/harness/mutants/"

/* Starts a mutant server, stops it with SIGTERM under the contract's 1 s, and
 * returns server_stop's verdict; why says what happened, warnings() any warning. */
static int stop_mutant(const char *command, char *why, size_t whylen)
{
    struct scratch tmp;
    struct server s;
    char err[320];
    cr_assert_eq(scratch_create(&tmp), 0);
    cr_assert_eq(server_start(&s, command, NULL, scratch_path(&tmp, "err", err, sizeof err),
                              READY_TIMEOUT_MS, why, whylen), 0, "%s: %s", command, why);
    int rc = server_stop(&s, SIGTERM, STOP_TIMEOUT_MS, why, whylen);
    server_cleanup(&s);
    scratch_remove(&tmp);
    return rc;
}

Test(deadlines, a_prompt_stop_passes_without_a_warning)
{
    char why[512] = "";
    cr_assert_eq(stop_mutant(MUTANTS "stops_at_once.sh", why, sizeof why), 0, "%s", why);
    cr_assert_str_eq(warnings(), "");
}

Test(deadlines, a_server_that_ignores_sigterm_fails)
{
    char why[512] = "";
    cr_assert_eq(stop_mutant(MUTANTS "ignores_term.sh", why, sizeof why), -1);
    cr_assert(strstr(why, "still running"), "%s", why);
}

Test(deadlines, a_server_that_needs_5_s_to_stop_fails)
{
    char why[512] = "";
    cr_assert_eq(stop_mutant(MUTANTS "stops_late.sh 5", why, sizeof why), -1);
    cr_assert(strstr(why, "still running"), "%s", why);
}

Test(deadlines, a_stop_past_the_contract_but_within_the_deadline_is_a_warning)
{
    char why[512] = "";
    cr_assert_eq(stop_mutant(MUTANTS "stops_late.sh 1.3", why, sizeof why), 0, "%s", why);
    cr_assert(strstr(warnings(), "past the contract's 1000 ms"), "warnings: \"%s\"", warnings());
}

/* Starts n processes that only burn CPU, and stops them. */
static void hogs_start(pid_t *pids, int n)
{
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        cr_assert_geq(pids[i], 0);
        if (pids[i] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            for (volatile unsigned long x = 0;; x++)
                ;
        }
    }
}

static void hogs_stop(const pid_t *pids, int n)
{
    for (int i = 0; i < n; i++) {
        kill(pids[i], SIGKILL);
        waitpid(pids[i], NULL, 0);
    }
}

/* More hogs than cores: a computing server waits for a CPU most of the time. */
#define HOGS_PER_CORE 2

Test(deadlines, a_stop_slowed_by_a_busy_machine_is_not_the_servers_fault, .timeout = 60)
{
    int n = HOGS_PER_CORE * (int)sysconf(_SC_NPROCESSORS_ONLN);
    pid_t hogs[64];
    cr_assert_leq(n, 64);
    char why[512] = "";
    hogs_start(hogs, n);
    long long start = now_ms();
    int rc = stop_mutant("python3 " MUTANTS "spins_to_stop.py 1", why, sizeof why);
    long took = (long)(now_ms() - start);
    hogs_stop(hogs, n);
    cr_assert_eq(rc, 0, "%s (took %ld ms)", why, took);
    cr_assert(strstr(warnings(), "for a CPU"), "warnings: \"%s\"", warnings());
}

Test(deadlines, a_server_that_ignores_sigterm_fails_on_a_busy_machine_too, .timeout = 60)
{
    int n = HOGS_PER_CORE * (int)sysconf(_SC_NPROCESSORS_ONLN);
    pid_t hogs[64];
    cr_assert_leq(n, 64);
    char why[512] = "";
    hogs_start(hogs, n);
    int rc = stop_mutant(MUTANTS "ignores_term.sh", why, sizeof why);
    hogs_stop(hogs, n);
    cr_assert_eq(rc, -1);
    cr_assert(strstr(why, "still running"), "%s", why);
}

Test(deadlines, cpu_waits_counts_the_longest_wait_of_one_thread)
{
    static struct cpu_waits then = {2, {{10, 5000000}, {11, 1000000}}},
                            now = {3, {{10, 12000000}, {11, 1500000}, {12, 3000000}}};
    cr_assert_eq(cpu_waits_longest_ms(&then, &now), 7, "thread 10 waited 7 ms more");
    now.thread[2].ns = 9000000; /* a thread that started since: all of its wait */
    cr_assert_eq(cpu_waits_longest_ms(&then, &now), 9);
    static struct cpu_waits mine;
    cr_assert_eq(cpu_waits_read(getpid(), &mine), 0);
    cr_assert_geq(mine.n, 1);
    cr_assert_eq(cpu_waits_read(-1, &mine), -1);
}

/* The deadline grows with the server's own start-up: 1 s to start buys 3 s to stop. */
Test(deadlines, a_slow_starter_gets_three_times_its_start_up)
{
    char why[512] = "";
    cr_assert_eq(stop_mutant(MUTANTS "starts_slowly.sh 1 2.3", why, sizeof why), 0, "%s", why);
    cr_assert_neq(warnings()[0], '\0');
}

Test(deadlines, stop_deadline_is_the_larger_of_the_floor_and_the_scaled_start_up)
{
    struct server s = {.ready_ms = 100};
    cr_assert_eq(stop_deadline_ms(&s, 1000), 2000);
    s.ready_ms = 4000;
    cr_assert_eq(stop_deadline_ms(&s, 1000), 12000);
}

Test(deadlines, a_client_that_never_exits_is_killed_and_fails)
{
    struct child c;
    long long start = now_ms();
    cr_assert_not(run_to_end(&c, "sleep 60", NULL, NULL, NULL, NULL, 500));
    cr_assert_lt(now_ms() - start, 5000);
    char status[96];
    cr_assert(c.reaped && WIFSIGNALED(c.status), "the client was not killed: %s",
              child_describe(&c, status, sizeof status));
}

/* The harness may itself run with SIGINT ignored (`make test &` in a script);
 * its programs must not inherit that, or a JVM never hears SIGINT. */
Test(proc, children_start_with_signals_at_their_defaults)
{
    signal(SIGINT, SIG_IGN);
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, NULL);
    struct child c;
    char *argv[] = {"sh", "-c", "kill -INT $$; kill -TERM $$; exit 3", NULL};
    cr_assert_eq(child_start(&c, argv, (struct stdio_fds){-1, -1, -1}), 0);
    cr_assert(child_wait(&c, 10000));
    char status[96];
    cr_assert(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGINT,
              "the child ended with %s, not killed by SIGINT", child_describe(&c, status, sizeof status));
    child_cleanup(&c);
}

/* ---- progress --------------------------------------------------------------- */

Test(progress, formats_counts_elapsed_and_an_estimate)
{
    struct progress p;
    char line[160];
    progress_begin(&p, "interop", 400, stderr, false, 0);
    cr_assert_str_eq(progress_format(&p, 5000, line, sizeof line),
                     "interop: 0/400 tests, 0 failed, 5s elapsed");
    p.last_ms = 121000; /* so that a step prints nothing now */
    for (int i = 0; i < 100; i++)
        progress_step(&p, i == 7, 121000);
    cr_assert_str_eq(progress_format(&p, 121000, line, sizeof line),
                     "interop: 100/400 tests, 1 failed, 2m01s elapsed, about 6m03s left");
}

/* Off a terminal, a line only every PROGRESS_EVERY_MS, however many tests end. */
Test(progress, prints_a_line_every_ten_seconds_when_not_a_terminal)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    struct progress p;
    progress_begin(&p, "t", 1000, out, false, 0);
    for (long long t = 0; t < 25000; t += 10)
        progress_step(&p, false, t);
    fflush(out);
    cr_assert_eq(count_lines((const unsigned char *)text, len), 2, "%s", text);
    fclose(out);
    free(text);
}

/* ---- results -------------------------------------------------------------- */

Test(results, round_trip_through_the_file_and_json)
{
    struct scratch tmp;
    char path[320], json[320];
    cr_assert_eq(scratch_create(&tmp), 0);
    scratch_path(&tmp, "results.tsv", path, sizeof path);
    cr_assert_eq(results_begin(path), 0);
    struct result a = {"tcp", "pair", "c", "python", "line", "pass", 12, "", ""};
    struct result b = {"tcp", "server", "c", "-", "help", "fail", 3, "want exit 0\n\"quoted\"\ttab",
                         "build/interop/logs/tcp/c-python-line"};
    cr_assert_eq(results_append(path, &a), 0);
    cr_assert_eq(results_append(path, &b), 0);

    struct results rs;
    cr_assert_eq(results_load(path, &rs), 0);
    cr_assert_eq(rs.len, 2);
    cr_assert_eq(strlen(rs.date), 20, "date \"%s\"", rs.date);
    cr_assert_str_eq(rs.items[1].detail, "want exit 0 \"quoted\" tab");
    cr_assert_eq(rs.items[0].ms, 12);
    cr_assert_str_eq(rs.items[0].logs, "");
    cr_assert_str_eq(rs.items[1].logs, "build/interop/logs/tcp/c-python-line");

    cr_assert_eq(results_write_json(&rs, scratch_path(&tmp, "r.json", json, sizeof json)), 0);
    unsigned char *data;
    size_t len;
    cr_assert_eq(read_file(json, 1 << 16, &data, &len), 0);
    const char *detail = "\"detail\": \"want exit 0 \\\"quoted\\\" tab\"";
    cr_assert(memmem(data, len, detail, strlen(detail)), "%.*s", (int)len, data);
    const char *logs = "\"logs\": \"build/interop/logs/tcp/c-python-line\"";
    cr_assert(memmem(data, len, logs, strlen(logs)), "%.*s", (int)len, data);
    const char *check = "\"type\": \"check\", \"role\": \"server\", \"lang\": \"c\"";
    cr_assert(memmem(data, len, check, strlen(check)), "%.*s", (int)len, data);
    free(data);
    results_free(&rs);
    scratch_remove(&tmp);
}

Test(results, grid_counts_cases_per_pair)
{
    struct result items[] = {
        {"tcp", "pair", "c", "ruby", "line", "pass", 1, "", ""},
        {"tcp", "pair", "c", "c", "line", "pass", 1, "", ""},
        {"tcp", "pair", "c", "c", "bytes", "pass", 1, "", ""},
        {"tcp", "pair", "c", "ruby", "bytes", "fail", 1, "x", ""},
        {"tcp", "server", "c", "-", "help", "pass", 1, "", ""},
    };
    struct results rs = {items, 5, "2026-01-01T00:00:00Z"};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    results_print_grid(&rs, "tcp", f);
    size_t failures = results_print_summary(&rs, f);
    fclose(f);
    cr_assert_eq(failures, 1);
    cr_assert(strstr(text, "2/2 ok"), "%s", text);
    cr_assert(strstr(text, "1/2 FAIL"), "%s", text);
    cr_assert(strstr(text, "4 passed, 1 failed"), "%s", text);
    cr_assert(strstr(text, "c          ruby"), "columns in the book's order: %s", text);
    free(text);
}

/* ---- the datagram relay (tests/relay) ------------------------------------- */

/* Starts the relay in front of a harness UDP socket ("the server"). */
static void start_relay(struct server *relay, struct scratch *tmp, int *server_fd,
                        const char *const args[])
{
    int port;
    char err[320], to[64], why[512];
    cr_assert_eq(scratch_create(tmp), 0);
    *server_fd = udp_bind("127.0.0.1", &port);
    cr_assert_geq(*server_fd, 0);
    snprintf(to, sizeof to, "127.0.0.1:%d", port);
    const char *extra[16] = {"--to", to};
    for (int i = 0; args[i]; i++)
        extra[2 + i] = args[i];
    cr_assert_eq(server_start(relay, "build/tests/relay", extra,
                              scratch_path(tmp, "relay.err", err, sizeof err), 10000, why,
                              sizeof why), 0, "%s", why);
}

/* How many datagrams reach fd within ms. */
static int count_arrivals(int fd, int ms)
{
    char buf[65536];
    int n = 0;
    while (poll_until(fd, POLLIN, now_ms() + ms) == 0 && recv(fd, buf, sizeof buf, 0) >= 0)
        n++;
    return n;
}

Test(relay, duplicates_and_drops_as_told)
{
    struct server relay;
    struct scratch tmp;
    int server;
    start_relay(&relay, &tmp, &server, (const char *[]){"--duplicate", "1", NULL});
    int client = udp_connect(relay.addr.host, relay.addr.port);
    cr_assert_eq(send(client, "x", 1, 0), 1);
    cr_assert_eq(count_arrivals(server, 300), 2, "--duplicate 1: want each datagram twice");
    char why[256];
    cr_assert_eq(server_stop(&relay, SIGTERM, 1000, why, sizeof why), 0, "%s", why);
    server_cleanup(&relay);
    close(client);
    close(server);
    scratch_remove(&tmp);

    start_relay(&relay, &tmp, &server, (const char *[]){"--drop", "1", NULL});
    client = udp_connect(relay.addr.host, relay.addr.port);
    for (int i = 0; i < 5; i++)
        send(client, "x", 1, 0);
    cr_assert_eq(count_arrivals(server, 300), 0, "--drop 1: want nothing through");
    server_cleanup(&relay);
    close(client);
    close(server);
    scratch_remove(&tmp);
}

/* The same seed and the same datagrams give the same decisions. */
Test(relay, a_seed_makes_runs_repeatable)
{
    int through[2];
    for (int run = 0; run < 2; run++) {
        struct server relay;
        struct scratch tmp;
        int server;
        start_relay(&relay, &tmp, &server, (const char *[]){"--drop", "0.5", "--seed", "42", NULL});
        int client = udp_connect(relay.addr.host, relay.addr.port);
        for (int i = 0; i < 40; i++)
            send(client, "x", 1, 0);
        through[run] = count_arrivals(server, 300);
        server_cleanup(&relay);
        close(client);
        close(server);
        scratch_remove(&tmp);
    }
    cr_assert_eq(through[0], through[1], "seed 42 let %d then %d of 40 through", through[0], through[1]);
    cr_assert(through[0] > 5 && through[0] < 35, "--drop 0.5 let %d of 40 through", through[0]);
}

/* ---- Unix-domain helpers ---------------------------------------------------- */

Test(unixnet, abstract_addresses_have_the_exact_length)
{
    struct sockaddr_un sa;
    int len = unix_addr("@demo", &sa);
    cr_assert_eq(len, (int)(offsetof(struct sockaddr_un, sun_path) + 5));
    cr_assert_eq(sa.sun_path[0], '\0');
    cr_assert_eq(memcmp(sa.sun_path + 1, "demo", 4), 0);
    cr_assert_eq(unix_addr("/tmp/x.sock", &sa), (int)sizeof sa);
    cr_assert_str_eq(sa.sun_path, "/tmp/x.sock");
}

Test(unixnet, paths_longer_than_107_bytes_do_not_fit)
{
    struct sockaddr_un sa;
    char path[110];
    memset(path, 'x', sizeof path);
    path[0] = '/';
    path[107] = '\0';
    cr_assert_gt(unix_addr(path, &sa), 0, "107 bytes fit, with the terminating NUL");
    path[107] = 'x';
    path[108] = '\0';
    cr_assert_eq(unix_addr(path, &sa), -1);
    cr_assert_eq(unix_addr("", &sa), -1);
}

Test(unixnet, a_stale_file_refuses_and_a_bound_abstract_name_answers)
{
    struct scratch tmp;
    char path[320], name[64];
    cr_assert_eq(scratch_create(&tmp), 0);
    cr_assert_eq(unix_make_stale(scratch_path(&tmp, "stale.sock", path, sizeof path)), 0);
    cr_assert_eq(unix_connect(SOCK_STREAM, path), -1);
    cr_assert_eq(errno, ECONNREFUSED);
    snprintf(name, sizeof name, "@socketbook-unit-%d", (int)getpid());
    int l = unix_socket(SOCK_STREAM, name);
    cr_assert_geq(l, 0);
    cr_assert_eq(listen(l, 1), 0);
    int c = unix_connect(SOCK_STREAM, name);
    cr_assert_geq(c, 0, "connecting to %s: %s", name, strerror(errno));
    close(c);
    close(l);
    scratch_remove(&tmp);
}

Test(run, find_entry_matches_a_prefix)
{
    struct scratch tmp;
    char path[320], name[256];
    cr_assert_eq(scratch_create(&tmp), 0);
    cr_assert_null(find_entry(tmp.dir, "", name, sizeof name), "an empty directory");
    cr_assert_eq(write_file(scratch_path(&tmp, "dgram_client.42.sock", path, sizeof path), "", 0), 0);
    cr_assert_null(find_entry(tmp.dir, "other", name, sizeof name));
    cr_assert_not_null(find_entry(tmp.dir, "dgram_client", name, sizeof name));
    cr_assert_str_eq(name, "dgram_client.42.sock");
    scratch_remove(&tmp);
}

/* ---- raw-socket helpers ------------------------------------------------------- */

Test(ready, parses_a_bare_ipv4_address)
{
    struct ready r;
    cr_assert_eq(ready_parse("READY 127.53.1.2", &r), 0);
    cr_assert_str_eq(r.host, "127.53.1.2");
    cr_assert_eq(r.port, 0);
    cr_assert_eq(ready_parse("READY localhost", &r), -1, "a name is not an address");
}

Test(rawnet, own_loopback_is_in_127_and_per_process)
{
    char a[32];
    own_loopback(a, sizeof a);
    cr_assert_eq(strncmp(a, "127.53.", 7), 0);
    cr_assert(strcmp(a + strlen(a) - 2, ".0") && strcmp(a + strlen(a) - 4, ".255"));
}

/* The isolation the raw tests rely on: a raw socket in a test's own network
 * namespace does not see a protocol-253 packet sent in the host's. */
Test(rawnet, a_private_namespace_sees_no_packets_from_outside)
{
    if (!raw_privileged())
        cr_skip_test("needs root");
    int ready[2];
    cr_assert_eq(pipe(ready), 0);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = private_netns() == 0 ? socket(AF_INET, SOCK_RAW, RAW_PROTO) : -1;
        (void)!write(ready[1], "x", 1);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        _exit(fd < 0 ? 2 : poll(&p, 1, 500) == 0 ? 0 : 1); /* 0: saw nothing */
    }
    char x;
    cr_assert_eq(read(ready[0], &x, 1), 1);
    /* and the same socket in our namespace does see it */
    int here = socket(AF_INET, SOCK_RAW, RAW_PROTO);
    cr_assert_geq(here, 0);
    cr_assert_eq(raw_send(NULL, "127.0.0.1", 1, 7, "hi", 2), 0);
    struct pollfd p = {.fd = here, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, 2000), 1, "the host's own raw socket saw the packet");
    close(here);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the namespaced socket saw a packet from outside (status %d)", status);
}

/* The view raw tests run in: after root_only_checkout, a process that gave up
 * root can no longer open a file of the checkout by its absolute path (the way
 * the JVM finds its classes), though root can, and so can a relative path,
 * which starts from the current directory and never passes the locked one. */
Test(rawnet, the_root_only_checkout_locks_out_absolute_paths_after_setuid)
{
    if (!raw_privileged())
        cr_skip_test("needs root");
    const struct passwd *nobody = getpwnam("nobody");
    cr_assert_not_null(nobody);
    pid_t pid = fork();
    if (pid == 0) {
        const char *file = "tests/interop/implementations.tsv";
        char here[PATH_MAX], absolute[PATH_MAX + 64], why[512];
        if (root_only_checkout(why, sizeof why) < 0 || getcwd(here, sizeof here) == NULL) {
            fprintf(stderr, "%s\n", why);
            _exit(2);
        }
        snprintf(absolute, sizeof absolute, "%s/%s", here, file);
        int as_root = open(absolute, O_RDONLY);
        if (as_root < 0 || setgid(nobody->pw_gid) < 0 || setuid(nobody->pw_uid) < 0)
            _exit(3);
        int absolute_fd = open(absolute, O_RDONLY), absolute_errno = errno;
        int relative_fd = open(file, O_RDONLY);
        _exit(absolute_fd < 0 && absolute_errno == EACCES && relative_fd >= 0 ? 0 : 1);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "want: absolute path refused to nobody, relative path allowed (status %d)", status);
}

/* ---- every address: a server must try each (CONTRACT.md 3.3) ------------- */

static const int STREAM = SOCK_STREAM;

Test(every_address, a_server_that_tries_each_address_passes)
{
    char why[512] = "";
    int rc = check_every_address(&STREAM, "build/c/stream/echo_server", why, sizeof why);
    if (rc == CHECK_SKIPPED)
        cr_skip_test("%s", why);
    cr_assert_eq(rc, 0, "%s", why);
}

Test(every_address, a_server_that_binds_only_the_first_address_fails)
{
    char why[512] = "";
    int rc = check_every_address(&STREAM, "python3 " MUTANTS "binds_first_only.py", why, sizeof why);
    if (rc == CHECK_SKIPPED)
        cr_skip_test("%s", why);
    cr_assert_eq(rc, -1);
    cr_assert(strstr(why, "Address already in use"), "%s", why);
}

Test(every_address, a_ready_line_that_echoes_the_host_fails)
{
    char why[512] = "";
    int rc = check_every_address(&STREAM, "python3 " MUTANTS "binds_first_only.py --ready-says-host",
                                 why, sizeof why);
    if (rc == CHECK_SKIPPED)
        cr_skip_test("%s", why);
    cr_assert_eq(rc, -1);
    cr_assert(strstr(why, "READY says \"READY socketbook-two:"), "%s", why);
}

/* ---- out of descriptors: a failed accept is not fatal (CONTRACT.md 3.3) --- */

/* The check called name of kind's checks. */
static const struct single_check *kind_check(const char *kind, const char *name)
{
    const struct kind_spec *spec = kind_spec_find(kind);
    cr_assert(spec, "no kind %s", kind);
    for (size_t i = 0; i < spec->nchecks; i++)
        if (strcmp(spec->checks[i].name, name) == 0)
            return &spec->checks[i];
    cr_assert_fail("kind %s has no check %s", kind, name);
    return NULL;
}

Test(survives_emfile, a_server_that_logs_and_goes_on_passes)
{
    char why[512] = "";
    const struct single_check *c = kind_check("tcp", "survives_emfile");
    cr_assert_eq(c->run(c->context, "build/c/stream/echo_server", why, sizeof why), 0, "%s", why);
}

Test(survives_emfile, a_server_that_ends_on_a_failed_accept_fails)
{
    char why[512] = "";
    const struct single_check *c = kind_check("tcp", "survives_emfile");
    cr_assert_eq(c->run(c->context, "python3 " MUTANTS "dies_on_accept_error.py", why, sizeof why), -1,
                 "passed: %s", why);
    cr_assert(strstr(why, "the server ended (exit 1)"), "%s", why);
}

/* ---- chapter 6: the concurrency checks fail a server that serves one client
 * at a time (the `tcp` reference echo_server), and pass one that does not
 * (Node's echo_server, on its event loop) ------------------------------------ */

static const struct patience SHORT_WAIT = {2000};
static const char *const CONCURRENCY_CHECKS[] = {"idle_first", "idle_50", "clients_1000",
                                                 "slow_reader"};

Test(concurrency, an_iterative_server_fails_every_concurrency_check, .timeout = 120)
{
    for (size_t i = 0; i < sizeof CONCURRENCY_CHECKS / sizeof *CONCURRENCY_CHECKS; i++) {
        char why[1024] = "";
        const struct single_check *c = kind_check("tcp-many", CONCURRENCY_CHECKS[i]);
        cr_expect_eq(c->run(&SHORT_WAIT, "build/c/stream/echo_server", why, sizeof why), -1,
                     "%s passed an iterative server", CONCURRENCY_CHECKS[i]);
        cr_log_info("%s: %s", CONCURRENCY_CHECKS[i], why);
    }
}

Test(concurrency, an_event_loop_server_passes_them, .timeout = 120)
{
    const char *const all[] = {"idle_first", "idle_50", "clients_1000", "slow_reader", "resets",
                               "stop_100"};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        char why[1024] = "";
        const struct single_check *c = kind_check("tcp-many", all[i]);
        cr_expect_eq(c->run(c->context, "node node/stream/echo_server.js", why, sizeof why), 0,
                     "%s: %s", all[i], why);
    }
}
