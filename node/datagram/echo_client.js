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
    if (value === undefined) throw new Error(`option ${arg} needs a value`);
    if (arg === '--host') {
      opts.host = value;
    } else if (arg === '--port') {
      if (!/^[0-9]+$/.test(value) || Number(value) < 1 ||
          Number(value) > 65535) {
        throw new Error(`bad port: ${value}`);
      }
      opts.port = Number(value);
    } else if (arg === '--timeout') {
      // Seconds, a decimal number greater than 0: "1", "0.2", ".5". Number()
      // alone would also take "-1", "1e3", "0x10" or "Infinity".
      if (!/^([0-9]+(\.[0-9]*)?|\.[0-9]+)$/.test(value) || Number(value) <= 0) {
        throw new Error(`bad timeout: ${value}`);
      }
      opts.timeout = Number(value);
    } else {
      // A whole number from 0.
      if (!/^[0-9]+$/.test(value)) throw new Error(`bad retries: ${value}`);
      opts.retries = Number(value);
    }
  }
  if (opts.port === undefined) throw new Error('option --port is required');
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
async function connect(host, port) {
  // dns.lookup() is Node's getaddrinfo(): it turns a name ('localhost') or a
  // literal ('::1') into addresses; { all: true } returns every one, and
  // verbatim keeps them in the order the resolver gave them.
  const addresses =
    await dns.promises.lookup(host, { all: true, verbatim: true });
  let lastError;
  for (const { address, family } of addresses) {
    // dgram.createSocket() is socket(SOCK_DGRAM), IPv4 or IPv6 as the
    // address is. Node binds it to a port of the kernel's choosing when it is
    // first used: a client never needs to pick one.
    const sock = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    // connect() on a UDP socket sends nothing -- there is no handshake, and it
    // succeeds whether or not anybody is listening. It only records the peer
    // in our kernel: send() needs no address now, and datagrams from any
    // other address are dropped before a 'message' event could show them. It
    // fails only if there is no route to that address at all.
    // It also lets the kernel report errors: if nothing is bound to the
    // server's port, its kernel answers our datagram with an ICMP "port
    // unreachable", which a connected socket turns into an ECONNREFUSED
    // 'error' event. An unconnected socket never hears of it, and would just
    // wait out its timeouts.
    sock.connect(port, address);
    try {
      await once(sock, 'connect'); // rejects if 'error' comes first
      return sock;
    } catch (err) {
      lastError = err; // no route...: try the next address
      sock.close();
    }
  }
  throw lastError;
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
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  let payload;
  try {
    payload = await readStdin();
  } catch (err) {
    process.stderr.write(`echo_client: stdin: ${err.message}\n`);
    process.exitCode = 1;
    return;
  }
  if (payload.length > MAX_PAYLOAD) {
    process.stderr.write(`echo_client: ${payload.length} bytes is more than ` +
                         `the ${MAX_PAYLOAD} a UDP datagram can carry\n`);
    process.exitCode = 2;
    return;
  }

  let sock;
  try {
    sock = await connect(opts.host, opts.port);
  } catch (err) {
    // "getaddrinfo ENOTFOUND nosuch.invalid", "connect ENETUNREACH ..."
    process.stderr.write(`echo_client: ${err.message}\n`);
    process.exitCode = 1;
    return;
  }
  const { address, port } = sock.remoteAddress(); // getpeername()
  const peer = formatAddress(address, port);

  // ANCHOR: receive
  // Node has no blocking receive with a timeout (SO_RCVTIMEO); we are told of
  // each datagram by a 'message' event, and a timer stands in for the
  // timeout. Each attempt sends the datagram and starts the timer; the echo
  // stops the timer; the timer going off starts the next attempt, or gives up.
  const attempts = opts.retries + 1;
  // setTimeout() takes milliseconds, at most 2^31 - 1 (24.8 days).
  const timeoutMs = Math.min(opts.timeout * 1000, 2 ** 31 - 1);
  let attempt = 0;
  let timer;

  // The one way out: stop the timer and close the socket, so that nothing is
  // left to keep the event loop alive, then set the exit status. Node exits
  // once the loop is empty -- after any write to stdout still pending has
  // finished, so nothing is cut off. A second call (an error after the
  // echo, say) does nothing.
  let finished = false;
  function finish(status, message) {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    sock.close();
    if (message) process.stderr.write(`echo_client: ${message}\n`);
    process.exitCode = status;
  }

  function attemptOnce() {
    if (attempt === attempts) {
      finish(1, `no reply from ${peer} after ${attempts} ` +
                (attempts === 1 ? 'attempt' : 'attempts'));
      return;
    }
    attempt++;
    send(sock, payload, onError);
    // Nothing within the timeout: our datagram or its echo was lost (or the
    // server is slow). Send it again, or give up.
    timer = setTimeout(attemptOnce, timeoutMs);
  }

  // The kernel reports the ICMP "port unreachable" for a connected socket as
  // ECONNREFUSED: nobody is there, so waiting is pointless.
  function onError(err) {
    finish(1, err.code === 'ECONNREFUSED'
      ? `receive from ${peer}: Connection refused (port unreachable)`
      : `${peer}: ${err.message}`);
  }
  sock.on('error', onError);

  // One 'message' is one whole datagram: the entire echo, never part of it,
  // and on a connected socket only ever from the server. Should a late echo
  // of an earlier attempt come first, we take that one: it is the same bytes.
  sock.on('message', (msg) => {
    if (finished) return;
    // If the reader of our stdout has gone, the write fails with EPIPE (Node
    // ignores SIGPIPE), as an 'error' event -- or, without a listener, a
    // stack trace. The payload is a Buffer, so any bytes pass through; an
    // empty one writes nothing: the echo of an empty datagram is empty output.
    process.stdout.on('error', (err) => {
      process.stderr.write(`echo_client: stdout: ${err.message}\n`);
      process.exitCode = 1;
    });
    process.stdout.write(msg);
    finish(0);
  });

  attemptOnce();
  // ANCHOR_END: receive
}

main();
