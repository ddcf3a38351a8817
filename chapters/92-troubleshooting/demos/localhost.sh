#!/usr/bin/env bash
# localhost.sh -- "It works on localhost but not from another machine": the
# address a server binds decides which destination addresses reach it. Runs
# in a network namespace of its own, where a network interface, lan0, stands
# in for this machine's card on a LAN, with the address 192.0.2.1. A client
# connecting to 192.0.2.1 is what a client on another machine does.
NETNS=own
. "$(dirname "$0")/lib.sh"

# The stand-in: a bridge with nothing plugged in (so `ip` calls it DOWN, which
# does not matter for packets the machine sends itself), its address from the
# block reserved for documentation (RFC 5737). Its link-layer address is fixed,
# so that anything derived from it is the same in every run.
ip link add lan0 address 02:00:00:00:00:01 type bridge &&
    ip addr add 192.0.2.1/24 dev lan0 &&
    ip link set lan0 up || die "cannot set up lan0"
run 0 "ip -brief address"
expect 192.0.2.1

# The default, --host 127.0.0.1: only connections to 127.0.0.1 reach it.
start server "build/c/stream/echo_server"
port=$server_port
run 0 "ss -tln"
expect "127.0.0.1:$port"
run 0 "printf 'hello\n' | build/c/stream/echo_client --host 127.0.0.1 --port $port"
expect hello
run 1 "printf 'hello\n' | build/c/stream/echo_client --host 192.0.2.1 --port $port"
expect "Connection refused"
stop server

# 0.0.0.0, "any IPv4 address": every address of the machine, lan0's too.
start server "build/c/stream/echo_server --host 0.0.0.0 --port $port"
run 0 "ss -tln"
expect "0.0.0.0:$port"
run 0 "printf 'hello\n' | build/c/stream/echo_client --host 192.0.2.1 --port $port"
expect hello
stop server

# ::, "any IPv6 address", takes IPv4 connections as well (unless the socket
# sets IPV6_V6ONLY, or the system does: net.ipv6.bindv6only); the server
# sees them as IPv4-mapped IPv6 addresses, ::ffff:192.0.2.1.
start server "build/c/stream/echo_server --host :: --port $port"
run 0 "ss -tln" # ss writes a dual-stack :: as *, an IPv6-only one as [::]
expect "*:$port"
run 0 "printf 'hello\n' | build/c/stream/echo_client --host 192.0.2.1 --port $port"
expect hello
run 0 "printf 'hello\n' | build/c/stream/echo_client --host ::1 --port $port"
expect hello
stop server
