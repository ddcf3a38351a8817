#!/usr/bin/env bash
# refused.sh -- "Connection refused": nobody is listening on that port. Starts
# the C echo server to learn a port, stops it, and asks ss, the clients, nc,
# strace and tcpdump about the port it left empty; then the same for UDP.
NETNS=own # tcpdump then sees only this demo's packets
. "$(dirname "$0")/lib.sh"

start server "build/c/stream/echo_server"
port=$server_port
stop server

# Is anything listening? ss lists TCP (-t) listening (-l) sockets with numbers,
# not names (-n); the filter keeps those on our port. Only the header: nobody.
run 0 "ss -tln 'sport = :$port'"
expect_not LISTEN

# What every client of this book says, and nc's -z (connect, send nothing).
run 1 "build/c/stream/echo_client --port $port < /dev/null"
expect "echo_client: connect to 127.0.0.1:$port: Connection refused"
run 1 "python3 python/stream/echo_client.py --port $port < /dev/null"
expect "Connection refused"
run 1 "nc -z -v 127.0.0.1 $port"
expect "Connection refused"

# Which call failed, and with which error: strace shows the system calls.
run 1 "strace -f -e trace=network build/c/stream/echo_client --port $port < /dev/null"
expect "ECONNREFUSED"

# On the wire: our SYN, and the kernel's answer for a closed port, a reset.
watch tcpdump "listening on" "tcpdump -l -n -t -i lo -c 2 'tcp port $port'"
run 1 "build/c/stream/echo_client --port $port < /dev/null"
finish tcpdump 0 '$ wait    # tcpdump stops by itself after -c 2 packets'
expect "Flags [S]"
expect "Flags [R.]"

# UDP has no handshake, but a closed port still answers: with an ICMP error,
# which a connected UDP socket reports as ECONNREFUSED.
watch tcpdump "listening on" "tcpdump -l -n -t -i lo -c 2 'udp port $port or icmp'"
run 1 "printf 'hello\n' | build/c/datagram/echo_client --port $port"
expect "Connection refused"
finish tcpdump 0 '$ wait    # tcpdump stops by itself after -c 2 packets'
expect "udp port $port unreachable"
