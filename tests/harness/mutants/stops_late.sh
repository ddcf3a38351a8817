#!/bin/sh
# stops_late.sh SECONDS -- a mutant server that takes SECONDS to exit after SIGTERM.
trap "sleep $1; exit 0" TERM
echo "READY 127.0.0.1:9"
sleep 60 >/dev/null & wait
