'use strict';
// echo_client.js -- a TCP echo client: dns.lookup, net.connect to each address
// in turn, and two pipes that send and receive at the same time

const dns = require('node:dns');
const net = require('node:net');
const { once } = require('node:events');
const libc = require('../unix/libc'); // C's words for an error (see there)

const USAGE = 'usage: echo_client [--host H] --port P';

// Parse --host H and --port P (a flag's value is the next argument). A bad
// command line throws an Error saying what is wrong; main() exits 2 with it.
function parseArgs(argv) {
  const opts = { host: '127.0.0.1', port: undefined, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help') return { ...opts, help: true };
    if (arg !== '--host' && arg !== '--port') {
      throw new Error(arg.startsWith('-') ? `unknown option: ${arg}`
                                          : `unexpected argument: ${arg}`);
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    if (arg === '--host') {
      opts.host = value;
    } else if (/^[0-9]+$/.test(value) && Number(value) >= 1 &&
               Number(value) <= 65535) {
      opts.port = Number(value);
    } else {
      throw new Error(`bad port: ${value}`);
    }
  }
  if (opts.port === undefined) throw new Error('--port is required');
  return opts;
}

// A runtime error: one line on stderr, exit status 1. Errors can arrive from
// several streams one after another (a reset socket, then a failed write), so
// only the first is reported. process.exit() does not wait for asynchronous
// writes to a pipe, so we exit from the write's callback, once the line is out.
let failed = false;
function fail(message) {
  if (failed) return;
  failed = true;
  process.stderr.write(`echo_client: ${message}\n`, () => process.exit(1));
}

// Addresses as the book prints them: 127.0.0.1:40123, [::1]:40123.
function formatAddress(address, port) {
  return net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

// ANCHOR: connect
// Resolve the host, then try its addresses in turn until one connects.
// Returns the socket and its address; throws an Error with the line to print.
async function connect(host, port) {
  // dns.lookup() is Node's getaddrinfo(): it turns a name ('localhost') or a
  // literal ('::1') into addresses; { all: true } returns every one, in the
  // order the system prefers: [{ address: '::1', family: 6 }, ...].
  let addresses;
  try {
    addresses = await dns.promises.lookup(host, { all: true });
  } catch (err) {
    throw new Error(`resolve ${host}: ${libc.reason(err)}`);
  }
  let lastError;
  for (const { address } of addresses) {
    // net.connect() creates a socket and starts connect(): 'connect' fires
    // when the handshake is done, 'error' when it fails (ECONNREFUSED: nothing
    // listens on that port), and the failed socket is closed for us.
    // allowHalfOpen: by default Node ends our sending side as soon as the
    // server half-closes; with it, each direction ends on its own: ours when
    // stdin ends, the server's when it says so.
    const sock = net.connect({ host: address, port, allowHalfOpen: true });
    try {
      await once(sock, 'connect'); // rejects if 'error' comes first
      return { sock, peer: formatAddress(address, port) };
    } catch (err) {
      // Refused, unreachable...: try the next address. err.message would
      // be Node's "connect ECONNREFUSED 127.0.0.1:9"; we say it as C does.
      lastError = `connect to ${formatAddress(address, port)}: ` +
                  libc.reason(err);
    }
  }
  throw new Error(lastError);
}
// ANCHOR_END: connect

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`echo_client: ${err.message}\n${USAGE}\n`);
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

  let sock, peer;
  try {
    ({ sock, peer } = await connect(opts.host, opts.port));
  } catch (err) {
    fail(err.message); // "connect to 127.0.0.1:9: Connection refused"
    return;
  }
  // Every socket needs an 'error' listener: without one, an error such as
  // ECONNRESET (the server reset the connection) is thrown with a stack
  // trace. err.syscall says which way it failed: 'read' or 'write'.
  sock.on('error', (err) => {
    const what = err.syscall === 'read' ? 'receive from' : 'send to';
    fail(`${what} ${peer}: ${libc.reason(err)}`);
  });

  // ANCHOR: receive
  // Receive: sock.pipe(process.stdout) writes each chunk to stdout as it
  // arrives (Buffers of up to 64 KiB; no setEncoding, so any bytes pass
  // through), and stops reading the socket while stdout is slow to drain.
  // If the reader of our stdout has gone (| head -c 10), a write fails with
  // EPIPE: Node ignores SIGPIPE, so it comes as an 'error' event -- which,
  // without a listener, would be thrown with a stack trace.
  process.stdout.on('error', (err) => fail(`stdout: ${libc.reason(err)}`));
  sock.pipe(process.stdout);
  // 'close' comes once both directions are finished: the server's FIN has
  // arrived (every echoed byte has been read) and our own half-close has gone
  // out. Not before: a server that closes early and then resets the rest of
  // our input has not echoed it all, and that is an error, not success.
  // pipe() never ends process.stdout, and a write to a pipe may still be
  // pending, so we exit from the callback of an empty write: callbacks run in
  // order, so by then everything before it has reached stdout.
  sock.on('close', () => {
    process.stdout.write('', (err) => {
      if (!err && !failed) process.exit(0);
    });
  });
  // ANCHOR_END: receive

  // ANCHOR: send
  // Send: process.stdin.pipe(sock) copies stdin to the socket, again with
  // backpressure (stdin waits while the socket's send buffer is full). Both
  // pipes run at once on the event loop, so we keep reading the echo while we
  // are still sending: if we sent everything first, both directions' buffers
  // would fill up and client and server would wait for each other forever.
  // At the end of stdin, pipe() calls sock.end(): a half-close, our FIN, as
  // shutdown(SHUT_WR) does. The server reads end-of-file, finishes the echo
  // and closes its side in turn; then our 'close' handler above exits.
  process.stdin.on('error', (err) => fail(`stdin: ${libc.reason(err)}`));
  process.stdin.pipe(sock);
  // ANCHOR_END: send
}

main();
