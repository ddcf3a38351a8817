'use strict';
// simple_client.js -- the smallest TCP echo client: dns.lookup, net.connect
// to the first address, stdin piped to the socket and the socket to stdout

const dns = require('node:dns');
const net = require('node:net');
const libc = require('../unix/libc'); // C's words for an error (see there)

const USAGE = 'usage: simple_client [--host H] --port P';

// --host H and --port P (required), a value after each flag; anything else
// is refused.
const opts = { '--host': '127.0.0.1', '--port': '' };
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i += 2) {
  if (args[i] === '--help') { console.log(USAGE); process.exit(0); }
  if (!Object.hasOwn(opts, args[i]) || i + 1 === args.length) usage();
  opts[args[i]] = args[i + 1];
}
const port = Number(opts['--port']);
if (!/^[0-9]{1,5}$/.test(opts['--port']) || port < 1 || port > 65535) usage();

function usage() {
  console.error(USAGE);
  process.exit(2);
}

// A failed call: one line, as C's perror() prints it. err.syscall names the
// call ('getaddrinfo', 'connect', 'write'), libc.reason() gives C's words:
// "simple_client: connect: Connection refused", not Node's ECONNREFUSED.
function fail(err) {
  console.error(`simple_client: ${err.syscall}: ${libc.reason(err)}`);
  process.exit(1);
}

// ANCHOR: connect
// dns.lookup() is Node's getaddrinfo(); without { all: true } it gives the
// first address only. net.connect() makes a socket and starts connect();
// 'connect' fires once the handshake is done, 'error' if it fails.
// allowHalfOpen: without it Node ends our side as soon as the server's FIN
// arrives, and input still unsent would be dropped without a word.
dns.lookup(opts['--host'], (err, address) => {
  if (err) fail(err);
  const sock = net.connect({ host: address, port, allowHalfOpen: true });
  sock.on('error', fail);
  sock.on('connect', () => echo(sock));
});
// ANCHOR_END: connect

function echo(sock) {
  // ANCHOR: send
  // Send: pipe() copies stdin to the socket as it reads it and, at the end of
  // stdin, calls sock.end(): our FIN, a half-close, as shutdown(SHUT_WR) is.
  process.stdin.pipe(sock);
  // ANCHOR_END: send
  // ANCHOR: receive
  // Receive: the socket to stdout, until the server's FIN. Node never blocks:
  // both pipes run at once on its event loop (Node's way), so this client
  // reads the echo while it still sends. When both are done nothing is left
  // for the loop to do, and Node exits with status 0.
  process.stdout.on('error', fail); // EPIPE: our reader has gone
  sock.pipe(process.stdout);
  // ANCHOR_END: receive
}
