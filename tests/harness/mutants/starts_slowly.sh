#!/bin/sh
# starts_slowly.sh START STOP -- a mutant server that needs START seconds to start and STOP to stop.
trap "sleep $2; exit 0" TERM
sleep "$1"
echo "READY 127.0.0.1:9"
sleep 60 >/dev/null & wait
