'use strict';
// fd_client.js -- receiving a descriptor: recvmsg() with room for SCM_RIGHTS
// ancillary data, via koffi, then reading the file it opens to stdout

// The server sends us an open file, not its contents and not its name: a
// descriptor that the kernel installs in this process. We read from it as
// from any file we opened ourselves. Node has no recvmsg() of its own, so
// this client calls the C library through koffi (see libc.js).

const fs = require('node:fs');
const libc = require('./libc');

const USAGE = 'usage: fd_client --path P';

// Parse --path P (a flag's value is the next argument). A bad command line
// throws an Error saying what is wrong; main() exits 2 with it.
function parseArgs(argv) {
  const opts = { path: undefined, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help') return { ...opts, help: true };
    if (arg !== '--path') {
      throw new Error(arg.startsWith('-') ? `unknown option: ${arg}`
                                          : `unexpected argument: ${arg}`);
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    libc.checkPath(value); // empty, a bare "@", more than 107 bytes
    opts.path = value;
  }
  if (opts.path === undefined) throw new Error('--path is required');
  return opts;
}

// A runtime error: one line on stderr, exit status 1. Only the first is
// reported; Node exits once nothing is left to do.
let failed = false;
function fail(message) {
  if (failed) return;
  failed = true;
  process.stderr.write(`fd_client: ${message}\n`);
  process.exitCode = 1;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`fd_client: ${err.message}\n${USAGE}\n`);
    process.exitCode = 2; // nothing else is open, so Node exits with 2
    return;
  }
  // Node puts /dev/null in place of a closed stdout: libc.js tells them apart.
  if (libc.stdoutIsClosed()) {
    fail('stdout: Bad file descriptor');
    return;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  // ANCHOR: connect
  // socket(AF_UNIX, SOCK_STREAM, 0), then connect() to the server's path or
  // "@name" (the address length counted exactly). It fails with ENOENT if
  // there is no such file, ECONNREFUSED if nobody listens there.
  const sock = libc.socket(libc.AF_UNIX, libc.SOCK_STREAM, 0);
  try {
    const { addr, len } = libc.sockaddrUn(opts.path);
    libc.connect(sock, addr, len);
  } catch (err) {
    libc.close(sock);
    fail(`connect to ${opts.path}: ${libc.reason(err)}`);
    return;
  }
  // ANCHOR_END: connect

  // ANCHOR: recv_fd
  // recvmsg() with room for one byte of data and for the ancillary data of
  // one descriptor (CMSG_SPACE(sizeof(int)) bytes). It fills in the data, and
  // the ancillary data with its length in msg_controllen. .async waits on a
  // worker thread, so the event loop stays free.
  const data = Buffer.alloc(1);
  const control = libc.rightsControlBuffer();
  const msg = libc.msghdr(data, control);
  let fileFd;
  try {
    await libc.recvmsg.async(sock, msg, 0);
    // The byte's value means nothing and is not checked. The descriptor, if
    // one came, is in the SCM_RIGHTS cmsghdr: a number in *this* process,
    // usually not the one the server had.
    fileFd = libc.rightsFromControl(control, libc.msgControlLen(msg));
  } catch (err) {
    fail(`receive from ${opts.path}: ${libc.reason(err)}`);
    return;
  } finally {
    libc.close(sock); // the descriptor stays open without the socket
  }
  if (fileFd < 0) {
    fail('the server sent no descriptor');
    return;
  }
  // ANCHOR_END: recv_fd

  // ANCHOR: read
  // The descriptor is an ordinary open file: Node reads it like any other.
  // createReadStream({ fd }) reads it to end-of-file and then closes it; the
  // chunks go to stdout as they come.
  const file = fs.createReadStream(null, { fd: fileFd });
  file.on('error', (err) => fail(`read: ${libc.reason(err)}`));
  process.stdout.on('error', (err) => {
    fail(`stdout: ${libc.reason(err)}`);
  });
  file.pipe(process.stdout);
  // ANCHOR_END: read
}

// Anything unforeseen (socket() failing with EMFILE, say) is one line too,
// never a stack trace.
main().catch((err) => fail(libc.reason(err)));
