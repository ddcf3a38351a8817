#!/usr/bin/env bash
# firewall.sh -- a firewall between client and server: the server listens,
# ss shows it, and yet the client times out (the firewall drops the SYN) or
# fails at once (it rejects it). Runs in a network namespace of its own, so
# its firewall rules (nftables) and its capture touch nothing else.
NETNS=own
. "$(dirname "$0")/lib.sh"

# A connect() whose SYN gets no answer retries it for about two minutes
# (net.ipv4.tcp_syn_retries, 6 by default); 1 makes it give up after 3 s.
run 0 "sysctl -w net.ipv4.tcp_syn_retries=1"

start server "build/c/stream/echo_server --host 0.0.0.0"
port=$server_port
run 0 "ss -tln"
expect "0.0.0.0:$port"

# A rule that drops every packet to the port, counting them.
run 0 "nft add table inet demo"
run 0 "nft add chain inet demo input '{ type filter hook input priority 0; }'"
run 0 "nft add rule inet demo input tcp dport $port counter drop"

# tcpdump sees the SYN leave (the capture is before the firewall), and the
# retransmission a second later; no answer, nothing from the server.
watch tcpdump "listening on" "tcpdump -l -n -t -i lo -c 2 'tcp port $port'"
run 1 "build/c/stream/echo_client --port $port < /dev/null"
expect "Connection timed out"
finish tcpdump 0 '$ wait    # tcpdump stops by itself after -c 2 packets'
expect "Flags [S]"
run 0 "nft list chain inet demo input"
expect_not "counter packets 0 "

# A rule that rejects instead, the way firewalld does: an ICMP error comes
# back, and the client fails at once, with an error that is not about ports.
run 0 "nft flush chain inet demo input"
run 0 "nft add rule inet demo input tcp dport $port reject with icmpx admin-prohibited"
run 1 "build/c/stream/echo_client --port $port < /dev/null"
expect "No route to host"

# nc's -w gives up on its own schedule; -z just connects.
run 0 "nft flush chain inet demo input"
run 0 "nc -z -v -w 1 127.0.0.1 $port"
expect succeeded
stop server
