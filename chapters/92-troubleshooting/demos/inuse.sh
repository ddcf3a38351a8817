#!/usr/bin/env bash
# inuse.sh -- "Address already in use": a second server on a port that a live
# server holds, then a port held only by the TIME-WAIT of a closed connection,
# which SO_REUSEADDR lets a restarted server bind.
NETNS=own # so that nothing else on the machine takes the port in between
. "$(dirname "$0")/lib.sh"

start server "build/c/stream/echo_server"
port=$server_port

# A second server on the same port: bind fails, in every language.
run 1 "build/c/stream/echo_server --port $port"
expect "Address already in use"
run 1 "python3 python/stream/echo_server.py --port $port"
expect "Address already in use"

# Who holds it? -p adds the process (as root, or for your own processes).
run 0 "ss -tlnp 'sport = :$port'"
expect "\"echo_server\",pid=$server_pid"

# Now a client, and the server stopped while it is connected: the server
# closes first, so its side of the connection waits in TIME-WAIT.
spawn client "build/c/stream/echo_client --port $port"
wait_log server "connection from"
stop server
finish client 0
run 0 "ss -tan 'sport = :$port'"
expect TIME-WAIT

# Nothing listens, yet a socket without SO_REUSEADDR cannot bind the port...
run 1 "python3 -c 'import socket; socket.socket().bind((\"127.0.0.1\", $port))'"
expect "Address already in use"
# ... while our server, which sets it, starts at once.
start server "build/c/stream/echo_server --port $port"
stop server
