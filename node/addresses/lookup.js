'use strict';
// lookup.js -- name resolution: dns.lookup, Node's getaddrinfo, turns a host
// into the addresses a stream socket can connect to

const dns = require('node:dns');
const net = require('node:net');
const libc = require('../unix/libc'); // C's words for an error (see there)

const USAGE = 'usage: lookup [--host H]';

// Parse --host H (a flag's value is the next argument). A bad command line
// throws an Error saying what is wrong; main() exits 2 with it.
function parseArgs(argv) {
  const opts = { host: 'localhost', help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help') return { ...opts, help: true };
    if (arg !== '--host') {
      throw new Error(arg.startsWith('-') ? `unknown option: ${arg}`
                                          : `unexpected argument: ${arg}`);
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    opts.host = value;
  }
  return opts;
}

// A runtime failure: one line on stderr, exit status 1. Writes to stderr are
// synchronous for files and pipes, so the line is out before Node exits.
function fail(message) {
  process.stderr.write(`lookup: ${message}\n`);
  process.exitCode = 1;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`lookup: ${err.message}\n${USAGE}\n`);
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

  // dns.lookup('') answers with no addresses (and a deprecation warning),
  // where getaddrinfo() fails with EAI_NONAME: we say what C would.
  if (opts.host === '') {
    fail('resolve : Name or service not known');
    return;
  }

  // ANCHOR: resolve
  // dns.lookup() is Node's getaddrinfo(), run on libuv's thread pool. (The
  // other dns functions, dns.resolve4() and friends, ask DNS servers
  // directly and skip /etc/hosts.) Leaving out `family` asks for AF_UNSPEC;
  // Node passes SOCK_STREAM, keeps each result's address and family and
  // drops the rest. A literal such as '::1' never reaches the resolver.
  // all: true returns every address, not just the first; verbatim: true
  // keeps the resolver's order (the default since Node 17, spelled
  // order: 'verbatim' in newer versions).
  let addresses;
  try {
    addresses = await dns.promises.lookup(opts.host, { all: true, verbatim: true });
  } catch (err) {
    // Without this catch Node prints a stack trace. err.message is Node's
    // "getaddrinfo ENOTFOUND nosuch.invalid"; libc.reason() gives C's words,
    // gai_strerror()'s "Name or service not known".
    fail(`resolve ${opts.host}: ${libc.reason(err)}`);
    return;
  }
  // ANCHOR_END: resolve

  // If stdout is a closed pipe, a write fails with EPIPE (Node ignores
  // SIGPIPE) as an 'error' event; without a listener, a stack trace.
  process.stdout.on('error', (err) => fail(`stdout: ${libc.reason(err)}`));

  // ANCHOR: print
  for (const { address, family } of addresses) {
    const name = family === 6 ? 'inet6' : 'inet';
    // dns.lookup() gives an address as a string. It is inet_ntop()'s text of
    // the sockaddr's bytes (network byte order, most significant first) --
    // except for a literal, which comes back just as it was typed
    // ('0:0::1', 'fe80::1%eth0'). net.SocketAddress is Node's sockaddr_in or
    // sockaddr_in6: it parses the text into one, keeping a zone ('%eth0') as
    // the scope id, and its .address is inet_ntop()'s text again: '::1',
    // compressed as RFC 5952 says, with no zone.
    const sockaddr = new net.SocketAddress({
      address, family: family === 6 ? 'ipv6' : 'ipv4',
    });
    // dns.lookup() reports no socket type or protocol: it asked for
    // SOCK_STREAM, and on an inet or inet6 socket a stream is TCP.
    process.stdout.write(`${name} stream tcp ${sockaddr.address}\n`);
  }
  // ANCHOR_END: print
}

main();
