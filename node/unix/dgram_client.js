'use strict';
// dgram_client.js -- a Unix-domain datagram echo client: it binds a name of
// its own, connects, sends one datagram and waits for the echo (SO_RCVTIMEO)

// Node's `dgram` module is UDP only, so this client calls the C library
// through koffi (see libc.js). Unix-domain datagrams are never lost in
// transit, so there is no resending here, only a timeout for a server that
// is alive but does not answer.

const path = require('node:path');
const libc = require('./libc');

const USAGE = 'usage: dgram_client --path P [--timeout S]';

// The most this example sends in one datagram (the server's buffer).
const MAX_PAYLOAD = 65536;

// Parse --path P and --timeout S (a flag's value is the next argument). A
// bad command line throws an Error saying what is wrong; main() exits 2.
function parseArgs(argv) {
  const opts = { path: undefined, timeout: 1, timeoutText: '1', help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help') return { ...opts, help: true };
    if (arg !== '--path' && arg !== '--timeout') {
      throw new Error(arg.startsWith('-') ? `unknown option: ${arg}`
                                          : `unexpected argument: ${arg}`);
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    if (arg === '--path') {
      libc.checkPath(value); // empty, a bare "@", more than 107 bytes
      opts.path = value;
    } else {
      // Seconds, a decimal number greater than 0: "1", "0.2", "2.50", not
      // ".5" or "5.". Number() alone would also take "-1", "1e3", "0x10" or
      // "Infinity".
      if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || Number(value) <= 0) {
        throw new Error(`bad timeout: ${value}`);
      }
      opts.timeout = Number(value);
      opts.timeoutText = value; // for messages, as it was given
    }
  }
  if (opts.path === undefined) throw new Error('--path is required');
  return opts;
}

// All of stdin, as one Buffer: it becomes one datagram.
async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks);
}

// A runtime error: one line on stderr, and exit status 1 once we are done.
function fail(message) {
  process.stderr.write(`dgram_client: ${message}\n`);
  process.exitCode = 1;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`dgram_client: ${err.message}\n${USAGE}\n`);
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

  let payload;
  try {
    payload = await readStdin();
  } catch (err) {
    fail(`stdin: ${libc.reason(err)}`);
    return;
  }
  if (payload.length > MAX_PAYLOAD) {
    process.stderr.write(`dgram_client: ${payload.length} bytes is more ` +
                         `than the ${MAX_PAYLOAD} this example sends\n`);
    process.exitCode = 2;
    return;
  }

  // socket(AF_UNIX, SOCK_DGRAM, 0): a Unix-domain datagram socket.
  const fd = libc.socket(libc.AF_UNIX, libc.SOCK_DGRAM, 0);

  // ANCHOR: bind
  // A name of our own. The server answers each datagram by sending to the
  // address it came from; a socket that never bound one has none, and the
  // reply would have nowhere to go. (A UDP socket gets a port from the
  // kernel when it first sends; a Unix socket gets no name unless it asks.)
  // The name is unique to this process: $TMPDIR (or /tmp) and our pid. A file
  // left there by an earlier process with our pid, one that was killed
  // before it could clean up, would make bind() fail with EADDRINUSE, so it
  // goes first.
  const dir = process.env.TMPDIR || '/tmp'; // unset or empty: /tmp
  const ownPath = path.join(dir, `dgram_client.${process.pid}.sock`);
  try {
    libc.unlink(ownPath);
  } catch (err) {
    // ENOENT, the usual case: nothing was left there.
  }
  let own;
  try {
    own = libc.sockaddrUn(ownPath); // throws if the path is too long
    libc.bind(fd, own.addr, own.len);
  } catch (err) {
    libc.close(fd);
    fail(`bind ${ownPath}: ${libc.reason(err)}`);
    return;
  }
  // ANCHOR_END: bind

  try {
    await exchange(fd, opts, payload);
  } finally {
    // ANCHOR: cleanup
    // Whatever happened after bind() -- an echo, a refusal, a timeout -- the
    // socket file we created is ours to remove: nobody else will.
    libc.close(fd);
    libc.unlink(ownPath);
    // ANCHOR_END: cleanup
  }
}

// Connect, send the payload, wait for the echo and write it to stdout.
async function exchange(fd, opts, payload) {
  // ANCHOR: connect
  // connect() on a datagram socket sends nothing: it records the server as
  // our peer, so send() needs no address, and only datagrams from the server
  // are delivered to us. Unlike UDP it checks that the name exists: ENOENT
  // (no such file), ECONNREFUSED (nobody bound to it: a stale file).
  const server = libc.sockaddrUn(opts.path);
  try {
    libc.connect(fd, server.addr, server.len);
  } catch (err) {
    fail(`connect to ${opts.path}: ${libc.reason(err)}`);
    return;
  }
  // ANCHOR_END: connect

  // ANCHOR: send
  // The whole payload as one datagram, all or nothing: a 0-byte payload is
  // an empty datagram, a message too.
  try {
    libc.send(fd, payload, payload.length, 0);
  } catch (err) {
    fail(`send to ${opts.path}: ${libc.reason(err)}`);
    return;
  }
  // ANCHOR_END: send

  // ANCHOR: receive
  // SO_RCVTIMEO: a receive that waits longer than this fails with EAGAIN.
  // (libc.js writes the struct timeval that setsockopt() takes.)
  libc.setReceiveTimeout(fd, opts.timeout);

  // recv() the echo: one datagram, whole, into a buffer one byte larger than
  // anything we send, and only ever from the server (we are connected).
  // .async waits on a worker thread; Node's event loop stays free.
  const reply = Buffer.alloc(MAX_PAYLOAD + 1);
  let n;
  try {
    n = await libc.recv.async(fd, reply, reply.length, 0);
  } catch (err) {
    if (err.code === 'EAGAIN') {
      fail(`no reply from ${opts.path} within ${opts.timeoutText} s`);
    } else {
      fail(`receive from ${opts.path}: ${libc.reason(err)}`);
    }
    return;
  }
  // ANCHOR_END: receive

  // The echo to stdout: any bytes, and nothing at all for an empty one.
  // Node exits once the write is done; if the reader of stdout has gone,
  // the write fails with EPIPE (Node ignores SIGPIPE), as an 'error' event.
  process.stdout.on('error', (err) => {
    fail(`stdout: ${libc.reason(err)}`);
  });
  process.stdout.write(reply.subarray(0, n));
}

// Anything unforeseen (socket() failing with EMFILE, say) is one line too,
// never a stack trace.
main().catch((err) => fail(libc.reason(err)));
