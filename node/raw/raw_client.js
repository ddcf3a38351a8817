'use strict';
// raw_client.js -- a raw IP client: send a protocol-253 request, pick our
// reply out of all the traffic, retry -- through koffi

// Node's core has no raw sockets, so this client calls the C library through
// koffi (see libc.js). Our protocol lives directly inside IPv4 packets, next
// to TCP (6), UDP (17) and ICMP (1); 253 is reserved for experiments (RFC
// 3692). A message is
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
const libc = require('./libc');

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
    if (value === undefined) throw new Error(`option ${arg} needs a value`);
    if (arg === '--host') {
      // Only the numeric dotted form: net.isIPv4() is Node's inet_pton()
      // test. Raw IP has no ports and this client looks no names up.
      if (!net.isIPv4(value)) {
        throw new Error(`bad host (not a numeric IPv4 address): ${value}`);
      }
      opts.host = value;
    } else if (arg === '--timeout') {
      // Seconds, a decimal number greater than 0: "1", "0.2", ".5". Number()
      // alone would also take "-1", "1e3", "0x10" or "Infinity".
      if (!/^([0-9]+(\.[0-9]*)?|\.[0-9]+)$/.test(value) || Number(value) <= 0) {
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
  if (opts.host === undefined) throw new Error('option --host is required');
  return opts;
}

// A runtime failure: one line on stderr, and exit 1.
class Failure extends Error {}

// ANCHOR: open
// Open the raw socket, then stop being root. Returns the descriptor.
function openSocket() {
  // socket(AF_INET, SOCK_RAW, 253): SOCK_RAW skips the transport layer -- no
  // TCP, no UDP, no ports. We name the IP protocol ourselves (253), send our
  // message as the payload of an IP packet, and receive every protocol-253
  // packet the host gets. That power needs the CAP_NET_RAW capability: root
  // has it, other users get EPERM.
  let fd;
  try {
    fd = libc.socket(libc.AF_INET, libc.SOCK_RAW, libc.IPPROTO_EXPERIMENT);
  } catch (err) {
    if (err.code === 'EPERM' || err.code === 'EACCES') {
      throw new Failure('a raw socket needs CAP_NET_RAW (run as root): ' +
                        err.message);
    }
    throw new Failure(`socket: ${err.message}`);
  }
  // No bind(): the kernel picks our source address when we send. No connect()
  // either, though it works on a raw socket (the kernel would then deliver
  // only packets from that address): we sort the packets ourselves, below, to
  // show what arrives on a raw socket and how to tell ours from the rest.
  try {
    dropPrivileges();
  } catch (err) {
    libc.close(fd);
    throw err;
  }
  return fd;
}

// The privilege was needed for one thing, socket(); the socket keeps working
// without it, because the kernel checks CAP_NET_RAW when a socket is created,
// not each time it is used. So we give root up now, BEFORE we read our input
// or any packet: if a bug in the parsing below could be exploited, the
// attacker would get user nobody, not root.
function dropPrivileges() {
  if (process.geteuid() !== 0) return; // not root: no root to give up
  let nobody;
  try {
    nobody = libc.getpwnam('nobody'); // the user that owns nothing
  } catch (err) {
    throw new Failure(`user nobody: ${err.message}`);
  }
  if (nobody === null) throw new Failure('user nobody: no such user');
  // Node's own process.setgroups(), setgid() and setuid() call the C
  // functions. The order matters: setgroups() and setgid() need root, so they
  // come first; setuid() as root sets the real, effective and saved user ids
  // alike, so there is no way back. (glibc changes the ids of every thread of
  // the process, koffi's and Node's worker threads too.)
  const steps = [
    ['setgroups', () => process.setgroups([])], // root's extra groups: none
    ['setgid', () => process.setgid(nobody.gid)],
    ['setuid', () => process.setuid(nobody.uid)],
  ];
  for (const [name, step] of steps) {
    try {
      step();
    } catch (err) {
      throw new Failure(`${name}: ${libc.describeError(err)}`);
    }
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
    throw new Failure(`send to ${host}: ${err.message}`);
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
                                         : libc.describeError(err)}\n`);
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
    throw new Failure(`read stdin: ${libc.describeError(err)}`);
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

  // ANCHOR: receive
  // Send, wait up to the timeout, send again: retries + 1 times in all.
  // Unlike a connected UDP socket, ours receives packets that are none of
  // our business, so the wait is for a DEADLINE: each packet we throw away
  // must not restart the clock, or a steady trickle of other traffic would
  // keep us waiting forever.
  const attempts = opts.retries + 1;
  const timeoutNs = BigInt(Math.round(opts.timeout * 1e9));
  const buf = Buffer.alloc(BUF_SIZE);
  const from = libc.sockaddrInBuffer(); // the packet's source goes here
  const fromLen = libc.socklen(0); // and its length here
  for (let attempt = 1; attempt <= attempts; attempt++) {
    sendRequest(fd, msg, server, opts.host);
    const deadline = process.hrtime.bigint() + timeoutNs;
    for (;;) {
      // SO_RCVTIMEO: a receive that waits longer than this fails with
      // EAGAIN. We set it to the time that is left before each wait.
      const left = Number(deadline - process.hrtime.bigint()) / 1e9;
      if (left <= 0) break; // this attempt is over: send again
      const tv = libc.timeval(left);
      libc.setsockopt(fd, libc.SOL_SOCKET, libc.SO_RCVTIMEO, tv, tv.length);
      // recvfrom() takes one packet and its source address; .async does the
      // waiting on a worker thread, not the event loop.
      fromLen.writeUInt32LE(libc.SOCKADDR_IN_SIZE, 0); // room in `from`
      let n;
      try {
        n = await libc.recvfrom.async(fd, buf, buf.length, 0, from, fromLen);
      } catch (err) {
        if (err.code === 'EAGAIN' || err.code === 'EINTR') continue;
        throw new Failure(`receive: ${err.message}`);
      }
      // A raw IPv4 socket receives the whole packet, IP header first. Its
      // length is the IHL field -- the low 4 bits of byte 0 -- in 32-bit
      // words: 5 (20 bytes) usually, up to 15 (60 bytes). Our message starts
      // after it. The sender's address, also bytes 12-15 of that header, is
      // in `from`.
      if (n < 20 || buf[0] >> 4 !== 4) continue;
      const ihl = (buf[0] & 0x0f) * 4;
      if (ihl < 20 || ihl > n) continue;
      const reply = buf.subarray(ihl, n);
      // What lands here: our own request (on loopback we receive what we
      // send, since it is a protocol-253 packet for this host), other
      // clients' requests and replies, and anything anybody else sends.
      // Ours is a well-formed reply, FROM the server, with OUR identifier.
      if (from.compare(server, 4, 8, 4, 8) !== 0 || // sin_addr: 4 bytes
          reply.length < MSG_HEADER || reply[0] !== TYPE_REPLY ||
          reply[1] !== 0 || reply.readUInt16BE(2) !== id ||
          reply.length - MSG_HEADER > MAX_PAYLOAD) {
        continue;
      }
      // The payload to stdout: any bytes, and nothing at all for an empty
      // one. Node exits once the write is done; if the reader of stdout has
      // gone, the write fails with EPIPE (Node ignores SIGPIPE), as an
      // 'error' event.
      process.stdout.on('error', (err) => {
        process.stderr.write(`raw_client: write stdout: ` +
                             `${libc.describeError(err)}\n`);
        process.exitCode = 1;
      });
      process.stdout.write(reply.subarray(MSG_HEADER));
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
