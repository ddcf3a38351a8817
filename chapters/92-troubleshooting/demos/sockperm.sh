#!/usr/bin/env bash
# sockperm.sh -- "Permission denied" connecting to a Unix-domain socket: the
# socket file's mode says who may connect (write permission), and every
# directory above it must let them through (search permission). The C
# stream server's --mode, with a client run as user nobody. (Root itself
# passes every permission check, so the demo needs a user who does not.)
. "$(dirname "$0")/lib.sh"
need_root "it runs the client as user nobody"
nobody="setpriv --reuid=nobody --regid=nogroup --clear-groups"

assign dir "$work"
assign sock "$work/demo.sock"
run 0 'chmod 755 $dir' # mktemp made it 700: nobody could not reach the socket at all

# The default mode, 600: only the owner.
start server "build/c/unix/stream_server --path \$sock"
run 0 "stat -c '%A %U %n' \$sock"
expect "srw------- root"
run 1 "printf 'hello\n' | $nobody build/c/unix/stream_client --path \$sock"
expect "Permission denied"
run 1 "printf 'hello\n' | $nobody strace -e trace=network build/c/unix/stream_client --path \$sock"
expect "EACCES"
stop server

# --mode 666: everyone.
start server "build/c/unix/stream_server --path \$sock --mode 666"
run 0 "stat -c '%A %U %n' \$sock"
expect "srw-rw-rw- root"
run 0 "printf 'hello\n' | $nobody build/c/unix/stream_client --path \$sock"
expect hello

# ... but not through a directory they may not enter.
run 0 'chmod 700 $dir'
run 1 "printf 'hello\n' | $nobody build/c/unix/stream_client --path \$sock"
expect "Permission denied"
run 0 'chmod 755 $dir'
stop server
