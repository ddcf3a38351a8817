#!/usr/bin/env bash
# partial.sh -- "My recv got half a message": TCP delivers bytes, not messages.
# strace, attached to the C echo server, shows each recv() the server makes
# while a client sends one line in two pieces, as a slow network or a slow
# sender would deliver it.
. "$(dirname "$0")/lib.sh"

start server "build/c/stream/echo_server"
port=$server_port

# -p attaches to a running process (root may trace any; you, your own);
# recvfrom is the system call under recv(); status=successful leaves out the
# calls that failed with EAGAIN: the server's socket is non-blocking.
watch strace "attached" "strace -p $server_pid -e trace=recvfrom -e status=successful"

spawn client "build/c/stream/echo_client --port $port"
say client "Hello, wor"
wait_out strace '"Hello, wor"'
say client 'ld!\n'
wait_out strace '"ld!\n"'
finish client 0
expect "Hello, world!"
wait_out strace '= 0' # end of file: the client half-closed

interrupt strace 130 # strace exits 128 + 2 (SIGINT)
stop server
