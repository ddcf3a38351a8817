#!/usr/bin/env bash
# vanish.sh -- a client that goes away without reading its echo takes the
# simple server with it: the server's next call on that connection fails,
# and the simple server treats every failure as the end. The robust server
# logs it and serves the next client.
. "$(dirname "$0")/../../92-troubleshooting/demos/lib.sh"

# vanish PORT: connects (bash opens /dev/tcp/HOST/PORT itself), sends 100 kB,
# and closes without reading what came back: the kernel then resets the
# connection instead of closing it.
vanish() {
    printf '$ exec 3<>/dev/tcp/127.0.0.1/%s; head -c 100000 /dev/zero >&3; exec 3>&-\n' "$1"
    exec 3<>"/dev/tcp/127.0.0.1/$1" || die "bash cannot connect"
    head -c 100000 /dev/zero >&3 || die "cannot send"
    exec 3>&-
}

start server "build/c/stream/simple_server"
port=$server_port
vanish "$port"
ended server 1
run 1 "echo hello | build/c/stream/simple_client --port $port"
expect "Connection refused"

start server "build/c/stream/echo_server"
port=$server_port
vanish "$port"
wait_log server "Connection reset by peer"
run 0 "echo hello | build/c/stream/echo_client --port $port"
expect "hello"
stop server
