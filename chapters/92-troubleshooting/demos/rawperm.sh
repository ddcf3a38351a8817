#!/usr/bin/env bash
# rawperm.sh -- "Operation not permitted" (or "Permission denied") on a raw
# socket: opening one needs the capability CAP_NET_RAW, not a user id. The C
# and Python pings with and without it, and two ways to do without root.
# Runs in a network namespace of its own: its ping_group_range is its own.
NETNS=own
. "$(dirname "$0")/lib.sh"
nobody="setpriv --reuid=nobody --regid=nogroup --clear-groups" # become user nobody
no_net_raw="setpriv --inh-caps=-all --bounding-set=-net_raw"  # stay root, minus one capability

run 0 "build/c/raw/ping --host 127.0.0.1 --count 1"
expect "1 received"

# As an ordinary user, and as root without CAP_NET_RAW: the same refusal.
run 1 "$nobody build/c/raw/ping --host 127.0.0.1 --count 1"
expect "Operation not permitted"
run 1 "$no_net_raw build/c/raw/ping --host 127.0.0.1 --count 1"
expect "Operation not permitted"
run 1 "$no_net_raw python3 python/raw/ping.py --host 127.0.0.1 --count 1"
expect "Operation not permitted"
run 1 "$no_net_raw strace -e trace=socket build/c/raw/ping --host 127.0.0.1 --count 1"
expect "EPERM"

# One way out: give the program file the capability (as Debian does for
# /bin/ping), so that it has CAP_NET_RAW whoever runs it. On a copy: the
# setcap'd file is root's to give out, like a set-user-id one.
assign dir "$work"
run 0 'chmod 755 $dir' # mktemp made it 700: nobody could not run the copy
run 0 'cp build/c/raw/ping $dir/ping'
run 0 'setcap cap_net_raw+ep $dir/ping'
run 0 'getcap $dir/ping'
run 0 "$nobody \$dir/ping --host 127.0.0.1 --count 1"
expect "1 received"

# The other: the ping socket (SOCK_DGRAM, IPPROTO_ICMP; chapter 5), which
# needs no capability, only a group in net.ipv4.ping_group_range. Its
# default, "1 0", is an empty range: EACCES, "Permission denied".
run 1 "$nobody build/c/raw/ping_dgram --host 127.0.0.1 --count 1"
expect "Permission denied"
run 0 "sysctl -w net.ipv4.ping_group_range='0 2147483647'"
run 0 "$nobody build/c/raw/ping_dgram --host 127.0.0.1 --count 1"
expect "1 received"
