#!/usr/bin/env bash
# waiting.sh -- chapter 2's iterative server makes a second client wait behind
# a first one that connected and says nothing; then every chapter 6 design
# (each `tcp-many` server in tests/interop/implementations.tsv) serves the
# second client while the first sits there.
. "$(dirname "$0")/../../92-troubleshooting/demos/lib.sh"

# idle PORT: a first client -- bash's own connection (/dev/tcp) -- that sends nothing.
idle() {
    printf '$ exec 3<>/dev/tcp/127.0.0.1/%s    # a client that says nothing\n' "$1"
    exec 3<>"/dev/tcp/127.0.0.1/$1" || die "bash cannot connect"
}

start server "build/c/stream/echo_server"
idle "$server_port"
wait_log server "connection from"
# The server is in recv() for the first client: the second connects (the
# kernel queues it) and waits. Three seconds show it; it would wait for ever.
run 124 "echo hello | timeout 3 build/c/stream/echo_client --port $server_port"
exec 3>&-
stop server

while IFS=$'\t' read -r label command; do
    printf '\n# %s\n' "$label"
    start server "$command"
    idle "$server_port"
    wait_log server "connection from"
    run 0 "echo hello | build/c/stream/echo_client --port $server_port"
    expect hello
    exec 3>&-
    stop server
done < <(awk -F'\t' '$2 == "tcp-many" && $3 == "server" { print $1 "/" $4 "\t" $5 }' \
    tests/interop/implementations.tsv)
