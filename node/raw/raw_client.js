'use strict';
// raw_client.js -- a raw IP client: send a protocol-253 request, pick our
// reply out of all the traffic, retry -- through koffi

// Node's core has no raw sockets, so this client calls the C library through
// koffi (node/unix/libc.js, the binding every Node example shares). Our
// protocol lives directly inside IPv4 packets, next to TCP (6), UDP (17) and
// ICMP (1); 253 is reserved for experiments (RFC 3692). A message is
//
//     byte 0     type: 1 = request, 2 = reply
//     byte 1     always 0
//     bytes 2-3  identifier, chosen by the client (network byte order)
//     then       the payload, 0 to 1,400 bytes
//
// Like UDP, nothing resends for us: a lost request or a lost reply looks the
// same from here -- silence -- so, as the UDP echo client does, we wait a
// while and send again, a few times, before giving up.

const crypto = require('node:crypto');
const net = require('node:net');
const libc = require('../unix/libc');

const USAGE = 'usage: raw_client --host A [--timeout S] [--retries N]';

const TYPE_REQUEST = 1;
const TYPE_REPLY = 2;
const MSG_HEADER = 4; // type, zero, identifier
// 20 (IP header) + 4 + 1,400 bytes fit in one 1,500-byte Ethernet frame.
const MAX_PAYLOAD = 1400;
const BUF_SIZE = 65536; // holds any IPv4 packet: its length is a 16-bit field

// Parse --host A, --timeout S and --retries N (a flag's value is the next
// argument). A bad command line throws an Error saying what is wrong; main()
// exits 2 with it.
function parseArgs(argv) {
  const opts = { host: undefined, timeout: 1, retries: 3, help: false };
  const flags = ['--host', '--timeout', '--retries'];
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
      // Only the numeric dotted form: net.isIPv4() is Node's inet_pton()
      // test. Raw IP has no ports and this client looks no names up.
      if (!net.isIPv4(value)) throw new Error(`bad host: ${value}`);
      opts.host = value;
    } else if (arg === '--timeout') {
      // Seconds, a decimal number greater than 0: "1", "0.2", "2.50", not
      // ".5" or "5.". Number() alone would also take "-1", "1e3", "0x10" or
      // "Infinity".
      if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || Number(value) <= 0) {
        throw new Error(`bad timeout: ${value}`);
      }
      opts.timeout = Math.min(Number(value), 1e9); // 1e9 s: some 30 years
    } else {
      // A whole number from 0.
      if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value))) {
        throw new Error(`bad retries: ${value}`);
      }
      opts.retries = Number(value);
    }
  }
  if (opts.host === undefined) throw new Error('--host is required');
  return opts;
}

// A runtime failure: one line on stderr, and exit 1.
class Failure extends Error {}

// ANCHOR: open
// Open the raw socket, then stop being root. Returns the descriptor. (If the
// drop fails we exit, and that closes the socket.)
function openSocket() {
  // socket(AF_INET, SOCK_RAW, 253), through koffi: we send our message as the
  // payload of an IP packet and receive every protocol-253 packet the host
  // gets. It needs CAP_NET_RAW: root has it, other users get EPERM.
  let fd;
  try {
    fd = libc.socket(libc.AF_INET, libc.SOCK_RAW, libc.IPPROTO_EXPERIMENT);
  } catch (err) {
    const what = err.code === 'EPERM' || err.code === 'EACCES'
      ? 'a raw socket needs CAP_NET_RAW (run as root)' : 'socket';
    throw new Failure(`${what}: ${libc.reason(err)}`);
  }
  // No bind(): the kernel picks our source address. No connect() either
  // (the kernel would then deliver only the server's packets): we sort the
  // packets ourselves, below, to show what arrives on a raw socket.
  dropPrivileges();
  return fd;
}

// Give up root for good, as user nobody, BEFORE we read our input or any
// packet. The open socket keeps working: the kernel checks CAP_NET_RAW when
// a socket is created, not each time it is used.
function dropPrivileges() {
  if (process.geteuid() !== 0) return; // not root: nothing to give up
  const nobody = libc.getpwnam('nobody'); // Node has no getpwnam(): koffi
  if (nobody === null) throw new Failure('getpwnam nobody: no such user');
  // Node's own process.setgroups(), setgid() and setuid(), in this order:
  // the first two need root, and setuid() as root leaves no way back.
  try {
    process.setgroups([]); // root's extra groups: none
    process.setgid(nobody.gid);
    process.setuid(nobody.uid);
  } catch (err) {
    throw new Failure(`${err.syscall}: ${libc.reason(err)}`); // "setgid: ..."
  }
}
// ANCHOR_END: open

// All of stdin, as one Buffer: a packet goes whole or not at all, so we need
// all of it before we send anything.
async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks);
}

// ANCHOR: send
// The request: the 4-byte header in front of the payload. The identifier is
// how we will recognise our reply: we see every protocol-253 packet on the
// host, including the replies to other clients, which may be talking to the
// same server at the same time. A random one (crypto.randomInt(): the
// kernel's random number generator, through OpenSSL) is unlikely to be
// anybody else's.
function buildRequest(payload) {
  const id = crypto.randomInt(0x10000); // 0 to 65,535
  const msg = Buffer.alloc(MSG_HEADER + payload.length);
  msg[0] = TYPE_REQUEST;
  msg[1] = 0;
  msg.writeUInt16BE(id, 2); // network byte order: the high byte first
  payload.copy(msg, MSG_HEADER);
  return { id, msg };
}

// sendto() sends one IP packet to dest. We hand over only our message:
// without the IP_HDRINCL option the kernel writes the IP header itself --
// version, lengths, protocol 253 (the socket's), source and destination
// addresses, and the header checksum. Like a datagram, a raw packet goes
// whole or not at all.
function sendRequest(fd, msg, dest, host) {
  try {
    libc.sendto(fd, msg, msg.length, 0, dest, dest.length);
  } catch (err) {
    throw new Failure(`send to ${host}: ${libc.reason(err)}`);
  }
}
// ANCHOR_END: send

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`raw_client: ${err.message}\n${USAGE}\n`);
    process.exitCode = 2; // nothing else is open, so Node exits with 2
    return;
  }
  // Node puts /dev/null in place of a closed stdout: libc.js tells them apart.
  if (libc.stdoutIsClosed()) {
    process.stderr.write('raw_client: stdout: Bad file descriptor\n');
    process.exitCode = 1;
    return;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  // The socket comes first and root goes straight after, before we read a
  // byte of input: the less code that runs as root, the better.
  let fd = -1;
  try {
    fd = openSocket();
    const status = await exchange(fd, opts);
    if (status !== undefined) process.exitCode = status;
  } catch (err) {
    // A Failure carries its line; anything unforeseen is one line too, never
    // a stack trace.
    process.stderr.write(`raw_client: ${err instanceof Failure ? err.message
                                         : libc.reason(err)}\n`);
    process.exitCode = 1;
  } finally {
    if (fd !== -1) libc.close(fd);
  }
}

// Read the payload, send the request, wait for the reply (resending) and
// write its payload to stdout. Returns the exit status, or throws a Failure.
async function exchange(fd, opts) {
  let payload;
  try {
    payload = await readStdin();
  } catch (err) {
    throw new Failure(`stdin: ${libc.reason(err)}`);
  }
  if (payload.length > MAX_PAYLOAD) {
    // Too much input is the user's mistake, like a bad flag: exit 2, send
    // nothing.
    process.stderr.write(`raw_client: ${payload.length} bytes is more than ` +
                         `the ${MAX_PAYLOAD} a protocol-253 message carries\n`);
    return 2;
  }
  const { id, msg } = buildRequest(payload);
  const server = libc.sockaddrIn(opts.host); // sin_port stays 0: no ports

  // If the reader of our stdout has gone, the write fails with EPIPE (Node
  // ignores SIGPIPE), as an 'error' event.
  process.stdout.on('error', (err) => {
    process.stderr.write(`raw_client: stdout: ${libc.reason(err)}\n`);
    process.exitCode = 1;
  });
  const buf = Buffer.alloc(BUF_SIZE);
  const from = libc.sockaddrInBuffer(); // the packet's source goes here
  const fromLen = libc.socklen(0); // and its length here

  // ANCHOR: receive
  // Send, wait, send again: retries + 1 times. Other traffic arrives too, so
  // each attempt has a DEADLINE, which a packet thrown away does not restart.
  const attempts = opts.retries + 1;
  const timeoutNs = BigInt(Math.round(opts.timeout * 1e9));
  for (let attempt = 1; attempt <= attempts; attempt++) {
    sendRequest(fd, msg, server, opts.host);
    const deadline = process.hrtime.bigint() + timeoutNs;
    for (;;) {
      const left = Number(deadline - process.hrtime.bigint()) / 1e9;
      if (left <= 0) break; // this attempt is over: send again
      libc.setReceiveTimeout(fd, left); // SO_RCVTIMEO: EAGAIN after that
      fromLen.writeUInt32LE(libc.SOCKADDR_IN_SIZE, 0); // room in `from`
      let n;
      try {
        n = await libc.recvfrom.async(fd, buf, buf.length, 0, from, fromLen);
      } catch (err) {
        if (err.code === 'EAGAIN' || err.code === 'EINTR') continue;
        throw new Failure(`receive: ${libc.reason(err)}`);
      }
      // Skip the IP header, IHL * 4 bytes. Ours is a well-formed reply FROM
      // the server with OUR identifier: not our own request (on loopback we
      // receive it too), nor any other protocol-253 traffic.
      if (n < 20 || buf[0] >> 4 !== 4) continue;
      const ihl = (buf[0] & 0x0f) * 4;
      if (ihl < 20 || ihl > n) continue;
      const reply = buf.subarray(ihl, n);
      if (from.compare(server, 4, 8, 4, 8) !== 0 || // sin_addr: 4 bytes
          reply.length < MSG_HEADER || reply[0] !== TYPE_REPLY ||
          reply[1] !== 0 || reply.readUInt16BE(2) !== id ||
          reply.length - MSG_HEADER > MAX_PAYLOAD) {
        continue;
      }
      process.stdout.write(reply.subarray(MSG_HEADER)); // empty: nothing
      return 0;
    }
  }
  const times = attempts === 1 ? 'attempt' : 'attempts';
  process.stderr.write(`raw_client: no reply from ${opts.host} after ` +
                       `${attempts} ${times}\n`);
  return 1;
  // ANCHOR_END: receive
}

main();
