#!/bin/sh
# stops_at_once.sh -- a mutant server that does everything right: exits 0 on SIGTERM.
trap 'exit 0' TERM
echo "READY 127.0.0.1:9"
sleep 60 >/dev/null & wait
