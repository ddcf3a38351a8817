'use strict';
// echo_server.js -- a UDP echo server: dns.lookup, dgram.createSocket and bind,
// then a 'message' event for each datagram, sent straight back to its sender

// A datagram socket (UDP) has no connections: no listen(), no accept(), no
// handshake and no end-of-file. One socket receives datagrams from anybody, and
// each datagram is a message on its own: one send() on the client is exactly
// one 'message' event here, never split up and never run together with the
// next, as the chunks of a TCP stream are. What UDP does not give is
// reliability: a datagram may be lost, arrive twice, or overtake an earlier
// one, and nobody is told.

const dgram = require('node:dgram');
const dns = require('node:dns');
const net = require('node:net');
const { once } = require('node:events');
const libc = require('../unix/libc'); // C's words for an error (see there)

const USAGE = 'usage: echo_server [--host H] [--port P]';

// Parse --host H and --port P (a flag's value is the next argument). A bad
// command line throws an Error saying what is wrong; main() exits 2 with it.
function parseArgs(argv) {
  const opts = { host: '127.0.0.1', port: 0, help: false };
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
    } else if (/^[0-9]+$/.test(value) && Number(value) <= 65535) {
      opts.port = Number(value);
    } else {
      throw new Error(`bad port: ${value}`);
    }
  }
  return opts;
}

// Logs go to stderr, one line per event; stdout carries only the READY line.
function log(message) {
  process.stderr.write(`echo_server: ${message}\n`);
}

// Addresses as the book prints them: 127.0.0.1:40123, [::1]:40123.
function formatAddress(address, port) {
  return net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

// ANCHOR: bind
// Resolve the host, then bind a UDP socket to the first of its addresses
// that works, and return that socket.
async function bind(host, port) {
  // dns.lookup() is Node's getaddrinfo(): it turns a name ('localhost') or a
  // literal ('::1') into addresses; { all: true } returns every one, and
  // verbatim keeps them in the order the resolver gave them:
  // [{ address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }].
  let addresses;
  try {
    addresses = await dns.promises.lookup(host, { all: true, verbatim: true });
  } catch (err) {
    throw new Error(`resolve ${host}: ${libc.reason(err)}`);
  }
  let lastError;
  for (const { address, family } of addresses) {
    // dgram.createSocket() is socket(SOCK_DGRAM): 'udp4' for an IPv4
    // address, 'udp6' for an IPv6 one, as the address family decides.
    const sock = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    // bind() claims the address and port (port 0: the kernel picks a free
    // one). There is nothing to listen() for: once bound, the socket receives
    // every datagram sent to that address and port. 'listening' says it is
    // bound.
    sock.bind({ address, port });
    try {
      await once(sock, 'listening'); // rejects if 'error' comes first
      return sock;
    } catch (err) {
      // EADDRINUSE, EADDRNOTAVAIL...: try the next address.
      lastError = `bind ${formatAddress(address, port)}: ${libc.reason(err)}`;
      sock.close();
    }
  }
  throw new Error(lastError);
}
// ANCHOR_END: bind

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`echo_server: ${err.message}\n${USAGE}\n`);
    process.exitCode = 2; // nothing else is open, so Node exits with 2
    return;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  let sock;
  try {
    sock = await bind(opts.host, opts.port);
  } catch (err) {
    log(err.message); // "bind 127.0.0.1:8080: Address already in use"
    process.exitCode = 1;
    return;
  }
  // Every socket needs an 'error' listener: without one, an error is thrown
  // and kills the whole server. A datagram socket stays open after such an
  // error (a failed receive: there is no peer to name), so we log it and go
  // on receiving.
  sock.on('error', (err) => log(`receive: ${libc.reason(err)}`));

  // ANCHOR: stop
  // By default SIGTERM (kill) and SIGINT (Ctrl-C) kill a Node process at
  // once, and its parent sees "killed by a signal", not an exit status. Once
  // a handler is installed, Node runs it from the event loop instead. We
  // close the socket, and once it is closed exit with status 0: being asked
  // to stop is not a failure. Node passes the handler the signal's name
  // ('SIGTERM'), which we log. The handlers go in before READY: whoever
  // starts us waits for that line.
  const stop = (signal) => {
    log(`stopping on ${signal}`);
    sock.close(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // ANCHOR_END: stop

  // ANCHOR: ready
  // sock.address() is getsockname(): the address and port the socket is
  // bound to -- with --port 0, the port the kernel chose.
  const { address, port } = sock.address();
  // When stdout is a pipe, Node writes to it asynchronously, but there is no
  // buffer to flush as in C's stdio: write() hands the line to libuv, which
  // writes it to the pipe at once (one short line always fits), so whoever
  // reads our stdout sees READY straight away.
  process.stdout.write(`READY ${formatAddress(address, port)}\n`);
  // ANCHOR_END: ready

  // ANCHOR: echo
  // Node receives for us: whenever a datagram is waiting, the event loop
  // calls recvmsg() (recvfrom() with more options) and emits 'message' with
  // the datagram's bytes, a Buffer, and rinfo, the sender's address (what
  // recvfrom() fills in). An empty datagram is a 0-byte Buffer. libuv
  // receives into a 64 KiB buffer, larger than any UDP datagram, so every
  // Buffer here is a whole message.
  sock.on('message', (msg, rinfo) => {
    const peer = formatAddress(rinfo.address, rinfo.port);
    log(`${msg.length} bytes from ${peer}`);
    // send() is sendto(): the same bytes, as one datagram, back to the
    // address and port they came from. The callback says whether the kernel
    // took the datagram (not whether it arrived). A failure concerns this
    // datagram only.
    sock.send(msg, rinfo.port, rinfo.address, (err) => {
      if (err) log(`${peer}: ${libc.reason(err)}`);
    });
  });
  // ANCHOR_END: echo
}

main();
