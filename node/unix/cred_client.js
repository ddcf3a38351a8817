'use strict';
// cred_client.js -- the other end of peer credentials: connect (via koffi)
// and print what the server says the kernel told it about us

// The client does nothing to prove who it is: the kernel records its pid,
// uid and gid when it calls connect(), and the server asks the kernel. We
// connect through the C library (libc.js) rather than `net`, which on Node
// 18 and 20 gets abstract names wrong, and read the server's line to
// end-of-file.

const libc = require('./libc');

const USAGE = 'usage: cred_client --path P';

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
  process.stderr.write(`cred_client: ${message}\n`);
  process.exitCode = 1;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`cred_client: ${err.message}\n${USAGE}\n`);
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
  // "@name" (the address length counted exactly). This is the moment the
  // kernel records our credentials for the server. It fails with ENOENT if
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

  // ANCHOR: receive
  // recv() until it returns 0, end-of-file: the server has said all and
  // closed. Each call waits on a worker thread (.async), so the event loop
  // stays free. Then everything to stdout, as it came.
  const chunks = [];
  const buf = Buffer.alloc(4096);
  try {
    for (;;) {
      const n = await libc.recv.async(sock, buf, buf.length, 0);
      if (n === 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n))); // a copy: buf is reused
    }
  } catch (err) {
    fail(`receive from ${opts.path}: ${libc.reason(err)}`);
    return;
  } finally {
    libc.close(sock);
  }
  // If the reader of our stdout has gone, the write fails with EPIPE (Node
  // ignores SIGPIPE), as an 'error' event. Node exits once it is written.
  process.stdout.on('error', (err) => {
    fail(`stdout: ${libc.reason(err)}`);
  });
  process.stdout.write(Buffer.concat(chunks));
  // ANCHOR_END: receive
}

// Anything unforeseen (socket() failing with EMFILE, say) is one line too,
// never a stack trace.
main().catch((err) => fail(libc.reason(err)));
