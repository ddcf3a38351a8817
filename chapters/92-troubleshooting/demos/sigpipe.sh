#!/usr/bin/env bash
# sigpipe.sh -- "My program died without a word": writing to a connection the
# peer has closed raises SIGPIPE, which kills a process unless it is ignored
# or the write says MSG_NOSIGNAL. First a program that does neither (head,
# writing to a TCP connection bash opened for it), then the C echo client.
. "$(dirname "$0")/lib.sh"

start server "build/c/stream/echo_server"
port=$server_port

# bash can open a TCP connection itself: /dev/tcp/HOST/PORT is not a file,
# bash connects when it sees the name. Descriptor 3 is now a socket.
printf '$ exec 3<>/dev/tcp/127.0.0.1/%s\n' "$port"
exec 3<>"/dev/tcp/127.0.0.1/$port" || die "bash cannot connect to the server"
wait_log server "connection from"
stop server # it closes the connection as it goes

# head writes to the socket as to any file. The first write still goes out;
# the peer's kernel answers it with a reset; the next write raises SIGPIPE.
run 141 "head -c 1048576 /dev/zero >&3"
expect_not head # not a word
run 0 "kill -l 141"
expect PIPE
run 141 "strace -e trace=write -e signal=SIGPIPE head -c 1048576 /dev/zero >&3"
expect "killed by SIGPIPE"
exec 3>&-

# The C client passes MSG_NOSIGNAL to send(): the write fails with EPIPE
# instead, and the client says so. strace -f follows its sending thread.
start server "build/c/stream/echo_server --port $port"
spawn client "strace -f -e trace=sendto -e signal=SIGPIPE build/c/stream/echo_client --port $port"
wait_out client "attached" # the sending thread has started: the client is connected
wait_log server "connection from"
stop server
say client 'one\n'
wait_out client 'sendto('
say client 'two\n'
wait_out client 'EPIPE'
finish client 1
expect "Broken pipe"
expect_not "killed by SIGPIPE"
