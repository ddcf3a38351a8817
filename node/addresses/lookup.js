'use strict';
// lookup.js -- name resolution: dns.lookup, Node's getaddrinfo, turns a host
// into the addresses a stream socket can connect to

const dns = require('node:dns');
const net = require('node:net');

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
    if (value === undefined) throw new Error(`option ${arg} needs a value`);
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
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  // dns.lookup('') answers with no addresses at all (and a deprecation
  // warning); getaddrinfo() knows no such name, and so do we.
  if (opts.host === '') {
    fail('empty host name');
    return;
  }

  // ANCHOR: resolve
  // A socket address is an address family, an address and a port.
  // getaddrinfo() turns a name ('localhost') or a literal ('127.0.0.1',
  // '::1') into a list of them: a name can have several, IPv4 (AF_INET) and
  // IPv6 (AF_INET6). We ask for AF_UNSPEC, "either family": that is what
  // leaving out the `family` option (or family: 0) means.
  //
  // dns.lookup() is Node's getaddrinfo(), run on libuv's thread pool. (The
  // other dns functions, dns.resolve4() and friends, ask DNS servers
  // directly and skip /etc/hosts.) Node passes SOCK_STREAM, so that each
  // address comes back once; it keeps the address and its family and drops
  // the rest, and both net and dgram sockets use the answer. A literal such
  // as '::1' is recognized in Node and never reaches the resolver.
  //
  // The order is a preference: the resolver sorts by RFC 3484 (and
  // /etc/gai.conf), and a client should try the addresses in that order.
  // verbatim: true keeps that order (the default since Node 17, and spelled
  // order: 'verbatim' in newer versions; older ones put every IPv4 address
  // first). all: true returns every address, not just the first.
  let addresses;
  try {
    addresses = await dns.promises.lookup(opts.host, { all: true, verbatim: true });
  } catch (err) {
    // err.code is ENOTFOUND when the name does not exist (getaddrinfo()'s
    // EAI_NONAME), and err.message says it all: "getaddrinfo ENOTFOUND
    // nosuch.invalid". Without this catch Node would print a stack trace.
    fail(err.message);
    return;
  }
  // ANCHOR_END: resolve

  // If stdout is a closed pipe, a write fails with EPIPE (Node ignores
  // SIGPIPE) as an 'error' event; without a listener, a stack trace.
  process.stdout.on('error', (err) => fail(`stdout: ${err.message}`));

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
