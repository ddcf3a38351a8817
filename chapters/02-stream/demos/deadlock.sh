#!/usr/bin/env bash
# deadlock.sh -- the simple client sends all of its input before it reads.
# With 64 MiB, well past what the socket buffers between the two programs hold
# (on this machine about 16 MiB in all, four buffers of 4 to 8 MiB each),
# both end up blocked in send() for ever: ss shows every queue full. Then the
# robust client, which reads while it sends, echoes the same 64 MiB.
. "$(dirname "$0")/../../92-troubleshooting/demos/lib.sh"

# queues PORT: the Recv-Q and Send-Q of every connection to or from PORT, one line.
queues() { ss -tnH "( sport = :$1 or dport = :$1 )" | awk '{printf "%s/%s ", $2, $3}'; }

assign input "$work/64mib"
run 0 "head -c 67108864 /dev/urandom >\$input"
start server "build/c/stream/simple_server"
port=$server_port
printf '$ build/c/stream/simple_client --port %s <$input >/dev/null &\n' "$port"
launch "exec build/c/stream/simple_client --port $port" <"$input" >/dev/null 2>&1 &
client=$!
started+=("$client")

# Stuck is when nothing moves: the same full queues in two readings 200 ms
# apart (a reading, not a guess: the loop gives up after $WAIT seconds).
previous="" deadline=$((SECONDS + WAIT))
while now=$(queues "$port") && { [ -z "$now" ] || [ "$now" != "$previous" ]; }; do
    [ "$SECONDS" -lt "$deadline" ] || die "the queues never stopped moving: $now"
    kill -0 "$client" 2>/dev/null || die "the simple client finished: no deadlock"
    previous=$now
    read -r -t 0.2 <> <(:) # wait 200 ms between readings
done
run 0 "ss -tn '( sport = :$port or dport = :$port )'"
expect_line '^ESTAB +[1-9][0-9]{4,} +[1-9][0-9]{4,} '
run 0 "ps -o stat,args -p $server_pid,$client" # S: asleep, in the kernel, waiting
expect_line '^S +build/c/stream/simple_client'

# Nothing will change: stop the client. Its socket closes with unread data,
# so its kernel resets the connection -- and the simple server, blocked in
# send() to it, dies of that reset too.
printf '$ kill -TERM %s\n' "$client"
kill -TERM "$client"
wait "$client"
forget "$client"
ended server 1

# The robust client receives on one thread while it sends on another.
start server "build/c/stream/simple_server"
port=$server_port
run 0 "build/c/stream/echo_client --port $port <\$input | cmp - \$input && echo 'all 64 MiB came back'"
expect "all 64 MiB came back"
stop server TERM 143
