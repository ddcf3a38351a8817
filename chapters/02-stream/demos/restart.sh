#!/usr/bin/env bash
# restart.sh -- "Address already in use": the simple server, killed while a
# client is connected, cannot be started again on its port at once (its side
# of the connection waits in TIME-WAIT). Linux lets a new socket bind over a
# TIME-WAIT only if both set SO_REUSEADDR: the old connection's socket too.
# So the robust server, killed the same way, can be restarted at once.
NETNS=own # a port nothing else on the machine can take in between
. "$(dirname "$0")/../../92-troubleshooting/demos/lib.sh"

# kill_connected SERVER: a connection from bash (/dev/tcp) and a line echoed,
# so the server has accepted it and waits in recv() for more; then the server
# is stopped (STATUS: how it must end), and bash closes its end.
kill_connected() {
    local port=$1 status=$2 line
    printf '$ exec 3<>/dev/tcp/127.0.0.1/%s; echo hello >&3; read -r line <&3; echo "$line"\n' "$port"
    exec 3<>"/dev/tcp/127.0.0.1/$port" || die "bash cannot connect"
    echo hello >&3
    IFS= read -r -t "$WAIT" line <&3 || die "no echo"
    printf '%s\n' "$line"
    stop server TERM "$status"
    exec 3>&-
}

start server "build/c/stream/simple_server"
port=$server_port
kill_connected "$port" 143 # no handler: SIGTERM kills it, and the kernel closes its sockets
run 0 "ss -tan 'sport = :$port'"
expect TIME-WAIT
run 1 "build/c/stream/simple_server --port $port"
expect "Address already in use"
run 1 "build/c/stream/echo_server --port $port"
expect "Address already in use"

start server "build/c/stream/echo_server"
port=$server_port
kill_connected "$port" 0
run 0 "ss -tan 'sport = :$port'"
expect TIME-WAIT
start server "build/c/stream/echo_server --port $port"
stop server
