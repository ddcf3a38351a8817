#!/usr/bin/env bash
# hang.sh -- "The server hangs": a second client connects, sends, and gets
# nothing back, because the server is still serving the first. ss shows the
# second connection established by the kernel, waiting in the listening
# socket's queue for an accept() that has not happened yet.
. "$(dirname "$0")/lib.sh"

start server "build/c/stream/echo_server"
port=$server_port

spawn client1 "build/c/stream/echo_client --port $port"
wait_log server "connection from"
say client1 'I came first\n'

# strace shows that connect() succeeded and the line went out: the kernel
# completed the handshake and took the bytes, though no program accepted them.
spawn client2 "strace -f -e trace=connect,sendto build/c/stream/echo_client --port $port"
wait_out client2 "attached" # after connect(): its sending thread has started
say client2 'I came second\n'
wait_out client2 "sendto("

# The listening socket: Recv-Q is the number of connections waiting for
# accept(). The connections: the second one's server side has no process
# yet (nobody has accepted it), and 14 bytes unread in its Recv-Q.
run 0 "ss -tln 'sport = :$port'"
expect_line "^LISTEN +1 "
run 0 "ss -tnp state established '( sport = :$port )'"
expect_line "^14 +0 +127.0.0.1:$port .*[0-9] *$" # no process on this line

# When client1 is done, the server accepts client2's connection.
finish client1 0
expect "I came first"
wait_log server "connection from"
finish client2 0
expect "I came second"
stop server
