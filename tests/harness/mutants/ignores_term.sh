#!/bin/sh
# ignores_term.sh -- a mutant server that ignores SIGTERM (an ignored signal stays ignored across exec).
trap '' TERM
echo "READY 127.0.0.1:9"
exec sleep 60
