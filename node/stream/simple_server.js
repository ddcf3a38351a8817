'use strict';
// simple_server.js -- the smallest TCP echo server: dns.lookup, listen on the
// first address, and pipe() each client back to itself

const dns = require('node:dns');
const net = require('node:net');
const libc = require('../unix/libc'); // C's words for an error (see there)

const USAGE = 'usage: simple_server [--host H] [--port P]';

// --host H and --port P, a value after each flag; anything else is refused.
const opts = { '--host': '127.0.0.1', '--port': '0' };
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i += 2) {
  if (args[i] === '--help') { console.log(USAGE); process.exit(0); }
  if (!Object.hasOwn(opts, args[i]) || i + 1 === args.length) usage();
  opts[args[i]] = args[i + 1];
}
if (!/^[0-9]{1,5}$/.test(opts['--port']) || opts['--port'] > 65535) usage();

function usage() {
  console.error(USAGE);
  process.exit(2);
}

// A failed call: one line, as C's perror() prints it. err.syscall names the
// call ('getaddrinfo', 'listen', 'read'), libc.reason() gives C's words.
function fail(err) {
  console.error(`simple_server: ${err.syscall}: ${libc.reason(err)}`);
  process.exit(1);
}

// ANCHOR: serve
// Node never blocks: there is no accept loop to write. Its event loop is
// Node's way: it accepts each client for us and calls this function with
// the new socket, so clients are served at once, not one after another.
// pipe() writes back every chunk that arrives; when the client half-closes,
// it ends our side too, after the last byte. allowHalfOpen keeps Node from
// ending our side as soon as the client's FIN arrives, before the echo is
// done. Without an 'error' listener a reset would be thrown with a stack
// trace; as C's simple server does when recv() fails, we print it and stop.
const server = net.createServer({ allowHalfOpen: true }, (c) => {
  c.on('error', fail);
  c.pipe(c);
});
// ANCHOR_END: serve

// ANCHOR: listen
// dns.lookup() is Node's getaddrinfo(); without { all: true } it gives the
// first address only. listen() then does socket(), bind() and listen() in
// one call. Before bind() Node (libuv) sets SO_REUSEADDR itself on Linux and
// has no option to leave it off (`exclusive` is about cluster workers), so
// unlike C's simple server this one can be restarted at once on its port.
dns.lookup(opts['--host'], (err, address) => {
  if (err) fail(err);
  server.on('error', fail);
  server.listen({ host: address, port: Number(opts['--port']) }, ready);
});
// ANCHOR_END: listen

// ANCHOR: ready
// server.address() is getsockname(): with --port 0, the port the kernel chose.
// console.log() hands the line to the pipe at once: there is nothing to flush.
function ready() {
  const { address, port } = server.address();
  const host = net.isIPv6(address) ? `[${address}]` : address; // [::1]
  console.log(`READY ${host}:${port}`);
}
// ANCHOR_END: ready
