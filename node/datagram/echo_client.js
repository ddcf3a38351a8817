'use strict';
// echo_client.js -- a UDP echo client: dns.lookup, a connected dgram socket,
// one datagram sent and resent on a timer until the echo comes back

// UDP promises nothing: the datagram we send, or the echo, may simply be lost,
// and nobody tells us. So the client cannot wait forever. It waits a while for
// the reply, and when none comes it sends the datagram again, a few times,
// before giving up. (That is safe because echoing twice does no harm; a real
// protocol must also cope with a request that arrives twice.)

const dgram = require('node:dgram');
const dns = require('node:dns');
const net = require('node:net');
const { once } = require('node:events');
const libc = require('../unix/libc'); // C's words for an error (see there)

const USAGE =
  'usage: echo_client [--host H] --port P [--timeout S] [--retries N]';

// The most one datagram can carry over IPv4: 65,535 bytes (the 16-bit length
// field's limit) minus a 20-byte IP header and an 8-byte UDP header.
const MAX_PAYLOAD = 65507;

// Parse --host H, --port P, --timeout S and --retries N (a flag's value is the
// next argument). A bad command line throws an Error saying what is wrong;
// main() exits 2 with it.
function parseArgs(argv) {
  const opts = { host: '127.0.0.1', port: undefined, timeout: 1, retries: 3,
                 help: false };
  const flags = ['--host', '--port', '--timeout', '--retries'];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help') return { ...opts, help: true };
    if (!flags.includes(arg)) {
      throw new Error(arg.startsWith('-') ? `unknown option: ${arg}`
                                          : `unexpected argument: ${arg}`);
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    if (arg === '--host') {
      opts.host = value;
    } else if (arg === '--port') {
      if (!/^[0-9]+$/.test(value) || Number(value) < 1 ||
          Number(value) > 65535) {
        throw new Error(`bad port: ${value}`);
      }
      opts.port = Number(value);
    } else if (arg === '--timeout') {
      // Seconds, a decimal number greater than 0: "1", "0.2", "2.50", not
      // ".5" or "5.". Number() alone would also take "-1", "1e3", "0x10" or
      // "Infinity".
      if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || Number(value) <= 0) {
        throw new Error(`bad timeout: ${value}`);
      }
      opts.timeout = Number(value);
    } else {
      // A whole number from 0.
      if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value))) {
        throw new Error(`bad retries: ${value}`);
      }
      opts.retries = Number(value);
    }
  }
  if (opts.port === undefined) throw new Error('--port is required');
  return opts;
}

// Addresses as the book prints them: 127.0.0.1:40123, [::1]:40123.
function formatAddress(address, port) {
  return net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

// All of stdin, as one Buffer: it becomes one datagram, so we need all of it
// before we send anything.
async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks);
}

// ANCHOR: connect
// Resolve the host, then try its addresses in turn until a socket connects.
// Returns the socket and its address; throws an Error with the line to print.
async function connect(host, port) {
  // dns.lookup() is Node's getaddrinfo(): { all: true } returns every
  // address, and verbatim keeps them in the order the resolver gave them.
  let addresses;
  try {
    addresses = await dns.promises.lookup(host, { all: true, verbatim: true });
  } catch (err) {
    throw new Error(`resolve ${host}: ${libc.reason(err)}`);
  }
  let lastError;
  for (const { address, family } of addresses) {
    // dgram.createSocket() is socket(SOCK_DGRAM), IPv4 or IPv6 as the
    // address is. Node binds it to a port of the kernel's choosing when it is
    // first used: a client never needs to pick one.
    const sock = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    // connect() sends nothing; it fails only if there is no route. Once
    // connected, Node delivers only the server's datagrams as 'message'
    // events, and an ICMP "port unreachable" as an ECONNREFUSED 'error'.
    sock.connect(port, address);
    try {
      await once(sock, 'connect'); // rejects if 'error' comes first
      return { sock, peer: formatAddress(address, port) };
    } catch (err) {
      // No route...: try the next address.
      lastError = `connect to ${formatAddress(address, port)}: ` +
                  libc.reason(err);
      sock.close();
    }
  }
  throw new Error(lastError);
}
// ANCHOR_END: connect

// ANCHOR: send
// Send the whole payload as one datagram to the connected address. UDP sends
// it all or nothing: no partial sends, no loop as on TCP. A 0-byte payload is
// sent as an empty datagram, which is a message too. The callback says
// whether the kernel took it; an error (ECONNREFUSED left over from an
// earlier attempt, say) goes to onError.
function send(sock, payload, onError) {
  sock.send(payload, (err) => {
    if (err) onError(err);
  });
}
// ANCHOR_END: send

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
    process.stderr.write('echo_client: stdout: Bad file descriptor\n');
    process.exitCode = 1;
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
    process.stderr.write(`echo_client: stdin: ${libc.reason(err)}\n`);
    process.exitCode = 1;
    return;
  }
  if (payload.length > MAX_PAYLOAD) {
    process.stderr.write(`echo_client: ${payload.length} bytes is more than ` +
                         `the ${MAX_PAYLOAD} a UDP datagram can carry\n`);
    process.exitCode = 2;
    return;
  }

  let sock, peer;
  try {
    ({ sock, peer } = await connect(opts.host, opts.port));
  } catch (err) {
    process.stderr.write(`echo_client: ${err.message}\n`);
    process.exitCode = 1;
    return;
  }

  // The one way out: stop the timer and close the socket, so that nothing is
  // left to keep the event loop alive, then set the exit status. Node exits
  // once the loop is empty -- after any write to stdout still pending has
  // finished, so nothing is cut off. A second call (an error after the
  // echo, say) does nothing.
  let timer;
  let finished = false;
  function finish(status, message) {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    sock.close();
    if (message) process.stderr.write(`echo_client: ${message}\n`);
    process.exitCode = status;
  }
  // If the reader of our stdout has gone, a write fails with EPIPE (Node
  // ignores SIGPIPE), as an 'error' event -- without a listener, a stack trace.
  process.stdout.on('error', (err) => {
    process.stderr.write(`echo_client: stdout: ${libc.reason(err)}\n`);
    process.exitCode = 1;
  });

  // ANCHOR: receive
  // Node has no blocking receive with a timeout (SO_RCVTIMEO): each datagram
  // is a 'message' event, and a timer stands in for the timeout. Each attempt
  // sends the datagram and starts the timer; the echo stops the timer (in
  // finish(), above); the timer going off starts the next attempt, or gives up.
  const attempts = opts.retries + 1;
  // setTimeout() takes milliseconds, at most 2^31 - 1 (24.8 days).
  const timeoutMs = Math.min(opts.timeout * 1000, 2 ** 31 - 1);
  let attempt = 0;

  function attemptOnce() {
    if (attempt === attempts) {
      finish(1, `no reply from ${peer} after ${attempts} ` +
                (attempts === 1 ? 'attempt' : 'attempts'));
      return;
    }
    attempt++;
    send(sock, payload, onError);
    timer = setTimeout(attemptOnce, timeoutMs); // lost, or slow: again
  }

  // An error ends it: ECONNREFUSED (the port is unreachable: nobody is
  // there, so waiting is pointless) comes from receiving ('recvmsg').
  function onError(err) {
    const what = err.syscall === 'send' ? 'send to' : 'receive from';
    finish(1, `${what} ${peer}: ${libc.reason(err)}`);
  }
  sock.on('error', onError);

  // One 'message' is one whole datagram, the entire echo. Should a late echo
  // of an earlier attempt come first, we take that one: it is the same bytes.
  sock.on('message', (msg) => {
    if (finished) return;
    process.stdout.write(msg); // a Buffer: any bytes; an empty one, nothing
    finish(0);
  });

  attemptOnce();
  // ANCHOR_END: receive
}

main();
