'use strict';
// common.js -- what every chapter 6 server in Node.js shares: the command
// line, listening on every resolved address in turn, READY, a peer's name
// and whole log lines

const dns = require('node:dns');
const net = require('node:net');
const { once } = require('node:events');
const libc = require('../unix/libc'); // C's words for an error (see there)

const usage = (prog) => `usage: ${prog} [--host H] [--port P]`;

// Parse --host H and --port P (a flag's value is the next argument), with
// the contract's words for what is wrong. Returns the options, or null once
// it has printed the usage for --help (exit status 0) or a usage error
// (status 2): the caller then just returns, and Node exits with that status.
function parseArgs(prog, argv) {
  const opts = { host: '127.0.0.1', port: 0 };
  let error;
  for (let i = 0; i < argv.length && error === undefined; i++) {
    const arg = argv[i];
    if (arg === '--help') {
      process.stdout.write(`${usage(prog)}\n`);
      return null;
    }
    const value = argv[i + 1];
    if (arg !== '--host' && arg !== '--port') {
      error = arg.startsWith('-') ? `unknown option: ${arg}`
                                  : `unexpected argument: ${arg}`;
    } else if (value === undefined) {
      error = `${arg} needs a value`;
    } else if (arg === '--host') {
      opts.host = value;
    } else if (/^[0-9]+$/.test(value) && Number(value) <= 65535) {
      opts.port = Number(value);
    } else {
      error = `bad port: ${value}`;
    }
    i++; // the value
  }
  if (error === undefined) return opts;
  process.stderr.write(`${prog}: ${error}\n${usage(prog)}\n`);
  process.exitCode = 2;
  return null;
}

// A logger for the program: each line goes to stderr in one write() call,
// so lines stay whole however many clients (or cluster workers, which share
// our stderr) log at once. stdout carries only the READY line.
function logger(prog) {
  return (message) => process.stderr.write(`${prog}: ${message}\n`);
}

// Addresses as the book prints them: 127.0.0.1:40123, [::1]:40123.
function formatAddress(address, port) {
  return net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

// A client's name in the logs. remoteAddress is getpeername(): undefined if
// the client reset the connection before we got to ask.
function peerName(conn) {
  return conn.remoteAddress === undefined
    ? 'a vanished client' : formatAddress(conn.remoteAddress, conn.remotePort);
}

// ANCHOR: listen
// Resolve the host, then listen on the first of its addresses that works.
// Throws an Error whose message is the line to log.
//
// There is no RLIMIT_NOFILE to raise: Node raises its soft limit to the
// hard one itself at start-up. Out of descriptors, libuv keeps one spare:
// it closes it, accepts the pending client on it and closes that at once,
// so the client sees its connection closed unserved -- and the program is
// never told, so there is no "accept: Too many open files" to log.
async function listen(server, host, port) {
  // dns.lookup() is Node's getaddrinfo(); { all: true } returns every
  // address, in the order the system prefers.
  let addresses;
  try {
    addresses = await dns.promises.lookup(host, { all: true });
  } catch (err) {
    throw new Error(`resolve ${host}: ${libc.reason(err)}`);
  }
  let lastError;
  for (const { address } of addresses) {
    // listen() does socket(), bind() (libuv sets SO_REUSEADDR first) and
    // listen(). backlog: how many finished handshakes the kernel queues
    // for us; 1024 rather than Node's 511, for a thousand clients at once.
    server.listen({ host: address, port, backlog: 1024 });
    try {
      await once(server, 'listening'); // rejects if 'error' comes first
      return;
    } catch (err) {
      lastError = `bind ${formatAddress(address, port)}: ${libc.reason(err)}`;
    }
  }
  throw new Error(lastError);
}
// ANCHOR_END: listen

// ANCHOR: ready
// The READY line, from server.address(), Node's getsockname(): with
// --port 0, the port the kernel chose. Written to stdout, one short line
// goes out to the pipe at once: there is no buffer to flush.
function readyLine(server) {
  const { address, port } = server.address();
  return `READY ${formatAddress(address, port)}`;
}
// ANCHOR_END: ready

module.exports = {
  parseArgs, logger, formatAddress, peerName, listen, readyLine,
  reason: libc.reason,
};
