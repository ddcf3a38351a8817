# lib.sh -- what the troubleshooting demos share; each demo sources it (bash).
#
# A demo prints a transcript: "$ command" as you would type it, then what the
# command printed, stdout and stderr together as a terminal shows them. A
# server runs in the background with its stdout on a FIFO, and the demo reads
# its READY line from there; a tool (tcpdump, strace -p) likewise, its "I am
# ready" line read from its stderr. Nothing sleeps to give a program time.
# Everything a demo starts is stopped, and its scratch directory (under
# $TMPDIR) removed, however it exits. A demo exits 0 when the programs behave
# as the chapter says; otherwise it says what differed and exits 1, which
# fails the book build.

set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../../.." || exit 1 # the repository root

DEMO=$(basename "$0" .sh)
WAIT=30 # seconds to wait for any one line from a program: generous, it guards against hangs

die() {
    printf '%s: %s\n' "$DEMO" "$*" >&2
    exit 1
}

need_root() { # need_root WHY
    [ "$(id -u)" -eq 0 ] || die "needs root ($1); run the book build as root, like chapter 5's demos"
}

# A demo that sets NETNS=own before sourcing this file runs in a network
# namespace of its own: a loopback interface and ports that nothing else on the
# machine uses, so its captures show only its own packets and its firewall
# rules touch nothing else. The namespace goes when the demo exits.
if [ "${NETNS:-}" = own ]; then
    if [ -z "${TROUBLE_IN_NETNS:-}" ]; then
        need_root "a network namespace of its own"
        TROUBLE_IN_NETNS=1 exec unshare --net -- bash "$0" "$@"
    fi
    ip link set lo up || die "cannot bring up lo in the new namespace"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/trouble-$DEMO.XXXXXX") || die "cannot make a scratch directory"
started=() # the pids of what we started and have not yet stopped

cleanup() {
    local pid
    for pid in "${started[@]}"; do
        kill -KILL "$pid" 2>/dev/null # only what a failed demo left running
    done
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# The FIFO ends the demo holds open (its side of each program's stdin, stdout
# and stderr). A program must not inherit them: a client holding another
# client's stdin open would keep that one from ever seeing end of file.
held=()
launch() { # launch COMMAND: in a child, close what the demo holds, then run COMMAND
    local f
    for f in "${held[@]}"; do exec {f}>&-; done
    eval "$1"
}

hold() { held+=("$@"); }
unhold() {
    local keep=() f g
    for f in "${held[@]}"; do
        for g in "$@"; do [ "$f" != "$g" ] || continue 2; done
        keep+=("$f")
    done
    held=("${keep[@]}")
}

forget() { # forget PID: it has been waited for
    local keep=() pid
    for pid in "${started[@]}"; do
        [ "$pid" = "$1" ] || keep+=("$pid")
    done
    started=("${keep[@]}")
}

# assign NAME VALUE: sets a shell variable, and shows it being set, so that
# later commands can say $NAME rather than a long scratch path.
assign() {
    printf '$ %s=%s\n' "$1" "$2"
    printf -v "$1" '%s' "$2"
}

# run STATUS COMMAND: prints "$ COMMAND", runs it (a shell command line: pipes and
# redirections work), prints its output and, if not 0, its exit status; dies
# unless the status is STATUS. The output is kept in $out for `expect`.
run() {
    local want=$1 cmd=$2 status
    printf '$ %s\n' "$cmd"
    out=$(launch "$cmd" 2>&1)
    status=$?
    [ -z "$out" ] || printf '%s\n' "$out"
    [ "$status" -eq 0 ] || printf '(exit status %d)\n' "$status"
    [ "$status" -eq "$want" ] || die "\`$cmd\` exited $status, not $want"
}

expect() { # expect TEXT: dies unless the last command's output has TEXT in it
    case $out in
    *"$1"*) ;;
    *) die "expected \"$1\" in the output above" ;;
    esac
}

expect_line() { # expect_line REGEX: dies unless a line of the last output matches (grep -E)
    grep -Eq -- "$1" <<<"$out" || die "expected a line matching /$1/ in the output above"
}

expect_not() { # expect_not TEXT: dies if the last command's output has TEXT in it
    case $out in
    *"$1"*) die "did not expect \"$1\" in the output above" ;;
    esac
}

# ANCHOR: start
# start NAME COMMAND: starts a server in the background, its stdout and stderr
# on FIFOs (named pipes), and reads its READY line: no sleep, no polling. Sets
# NAME_pid, NAME_addr (what READY said), NAME_port (after the last colon) and
# NAME_out, NAME_err (the descriptors we read its stdout and stderr from).
start() {
    local name=$1 cmd=$2 line fd efd pid
    mkfifo "$work/$name.out" "$work/$name.err" || die "mkfifo failed"
    printf '$ %s &\n' "$cmd"
    launch "exec $cmd" >"$work/$name.out" 2>"$work/$name.err" &
    pid=$!
    started+=("$pid")
    exec {fd}<"$work/$name.out" {efd}<"$work/$name.err" # in the order the server opens them
    hold "$fd" "$efd"
    rm -f "$work/$name.out" "$work/$name.err"            # both ends are open: the names can go
    if ! IFS= read -r -t "$WAIT" -u "$fd" line || [ "${line#READY }" = "$line" ]; then
        IFS= read -r -t 1 -u "$efd" line
        die "$name: no READY line from \`$cmd\`; it said: ${line:-nothing}"
    fi
    printf '%s\n' "$line"
    printf -v "${name}_pid" '%s' "$pid"
    printf -v "${name}_addr" '%s' "${line#READY }"
    printf -v "${name}_port" '%s' "${line##*:}"
    printf -v "${name}_out" '%s' "$fd"
    printf -v "${name}_err" '%s' "$efd"
}
# ANCHOR_END: start

# log NAME LINE: prints one line a background program wrote to stderr.
log() { printf '  [%s stderr] %s\n' "$1" "$2"; }

# wait_log NAME TEXT: reads NAME's stderr, printing each line, until one has TEXT.
wait_log() {
    local name=$1 text=$2 efd line
    efd=${name}_err
    while IFS= read -r -t "$WAIT" -u "${!efd}" line; do
        log "$name" "$line"
        case $line in *"$text"*) return 0 ;; esac
    done
    die "$name never logged \"$text\""
}

# stop NAME [SIGNAL [STATUS]]: sends SIGTERM (or SIGNAL), prints the rest of its
# stderr, and dies unless it exits 0 (the contract: a server stops cleanly on
# SIGTERM) -- or STATUS: 143 for chapter 2's simple server, killed by SIGTERM.
stop() {
    local name=$1 sig=${2:-TERM} pid
    pid=${name}_pid
    printf '$ kill -%s %s\n' "$sig" "${!pid}"
    kill -"$sig" "${!pid}" || die "cannot signal $name"
    ended "$name" "${3:-0}" "after SIG$sig"
}

# ended NAME STATUS [WHEN]: prints the rest of NAME's stderr, waits for it to
# exit -- on its own, or after a signal (WHEN says which) -- and dies unless
# its exit status is STATUS.
ended() {
    local name=$1 want=$2 when=${3:-} pid efd ofd line status
    pid=${name}_pid
    pid=${!pid}
    efd=${name}_err
    efd=${!efd}
    ofd=${name}_out
    ofd=${!ofd}
    while :; do # to end of file: it has exited
        IFS= read -r -t "$WAIT" -u "$efd" line
        status=$?
        [ "$status" -eq 0 ] || break
        log "$name" "$line"
    done
    [ "$status" -le 128 ] || die "$name still running $WAIT s ${when:-later}" # cleanup kills it
    wait "$pid"
    status=$?
    forget "$pid"
    exec {efd}<&- {ofd}<&-
    unhold "$efd" "$ofd"
    [ "$status" -eq 0 ] || printf '(%s exited with status %d)\n' "$name" "$status"
    [ "$status" -eq "$want" ] || die "$name exited $status ${when:-}, not $want"
}

# spawn NAME COMMAND: starts a client or a tool in the background. Its stdin
# is a FIFO standing in for a terminal (`say NAME TEXT` types on it), its
# stdout goes to a file, its stderr to a FIFO that `wait_out` reads as it
# comes; `finish` or `interrupt` shows the rest. Sets NAME_pid.
spawn() {
    local name=$1 cmd=$2 ifd efd pid
    mkfifo "$work/$name.in" "$work/$name.err" || die "mkfifo failed"
    printf '$ %s &\n' "$cmd"
    launch "exec $cmd" <"$work/$name.in" >"$work/$name.txt" 2>"$work/$name.err" &
    pid=$!
    started+=("$pid")
    exec {ifd}>"$work/$name.in" {efd}<"$work/$name.err" # in the order it opens them
    hold "$ifd" "$efd"
    rm -f "$work/$name.in" "$work/$name.err"
    printf -v "${name}_pid" '%s' "$pid"
    printf -v "${name}_in" '%s' "$ifd"
    printf -v "${name}_err" '%s' "$efd"
}

# wait_out NAME TEXT: prints what NAME writes to stderr, line by line, until a
# line has TEXT: tcpdump's "listening on", strace's "attached" or a system call.
wait_out() {
    local name=$1 text=$2 efd line
    efd=${name}_err
    while IFS= read -r -t "$WAIT" -u "${!efd}" line; do
        printf '%s\n' "$line"
        case $line in *"$text"*) return 0 ;; esac
    done
    die "$name never said \"$text\""
}

watch() { # watch NAME TEXT COMMAND: spawn, then wait_out
    spawn "$1" "$3"
    wait_out "$1" "$2"
}

say() { # say NAME TEXT: types TEXT (printf's format: \n is Enter) on NAME's stdin
    local fd=${1}_in
    printf '(%s: types "%s")\n' "$1" "$2"
    printf "$2" >&"${!fd}" || die "$1 is not reading its input"
}

# finish NAME STATUS [LINE]: prints LINE (what the reader would do: "wait",
# Ctrl-D), ends NAME's input and waits for it to exit, reading its stderr to
# end of file: a deadline of $WAIT seconds for each line, after which it gets
# SIGINT (Ctrl-C) and the demo fails. Prints its stdout, then the rest of its stderr, and dies
# unless it exits STATUS. From tcpdump's closing statistics only "N packets
# captured" is kept: how many more the filter saw before it stopped varies.
finish() {
    local name=$1 want=$2 line=${3:-"($1: Ctrl-D, the end of its input)"} ifd efd pid status
    ifd=${name}_in
    ifd=${!ifd}
    efd=${name}_err
    efd=${!efd}
    pid=${name}_pid
    pid=${!pid}
    printf '%s\n' "$line"
    exec {ifd}>&-
    unhold "$ifd"
    : >"$work/$name.tail"
    while :; do
        IFS= read -r -t "$WAIT" -u "$efd" line
        status=$?
        [ "$status" -eq 0 ] || break
        case $line in
        *"packets received by filter" | *"packets dropped by kernel") ;;
        *) printf '%s\n' "$line" >>"$work/$name.tail" ;;
        esac
    done
    if [ "$status" -gt 128 ]; then # the read timed out: it is still running
        kill -INT "$pid"
        cat "$work/$name.txt" "$work/$name.tail"
        die "$name did not finish within $WAIT s" # cleanup kills it if SIGINT did not
    fi
    wait "$pid"
    status=$?
    forget "$pid"
    exec {efd}<&-
    unhold "$efd"
    out=$(cat "$work/$name.txt" "$work/$name.tail")
    rm -f "$work/$name.txt" "$work/$name.tail"
    [ -z "$out" ] || printf '%s\n' "$out"
    [ "$status" -eq "$want" ] || die "$name exited $status, not $want"
}

interrupt() { # interrupt NAME STATUS: Ctrl-C (SIGINT), then as finish
    local pid=${1}_pid
    kill -INT "${!pid}" || die "cannot signal $1"
    finish "$1" "$2" "$ kill -INT ${!pid}    # Ctrl-C"
}
