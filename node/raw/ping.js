'use strict';
// ping.js -- ICMP echo on a raw socket (IPv4 only): build the request and its
// checksum yourself, match the reply, through koffi

// Node's core has no raw sockets, so this program calls the C library through
// koffi (node/unix/libc.js, the binding every Node example shares). It is
// IPv4 only: --host is a numeric IPv4 address. (The C and Python pings also
// speak ICMPv6 to ::1; here that would be one more socket and one more
// message type, and nothing new about Node.)
//
// Run it as root: for each sequence number 1..N it sends an ICMP echo request
// that it built byte by byte and waits up to S seconds for the matching
// reply, printing one line for each; then a summary. It exits 0 if every
// request was answered, else 1.

const net = require('node:net');
const libc = require('../unix/libc');

const USAGE = 'usage: ping --host H [--count N] [--timeout S]';

// The ICMP message types (RFC 792) of the echo exchange.
const ICMP_ECHO_REQUEST = 8;
const ICMP_ECHO_REPLY = 0;

// An echo message: an 8-byte header (type, code, checksum, identifier,
// sequence number), then our 56 bytes of data -- the send time (8 bytes) and
// 48 filler bytes 0x20, 0x21, ... 0x4f, as ping(8) sends: 64 bytes in all.
const HEADER_LEN = 8;
const TIME_LEN = 8;
const FILLER_LEN = 48;
const MESSAGE_LEN = HEADER_LEN + TIME_LEN + FILLER_LEN;

// Bigger than any IPv4 packet (its length is a 16-bit field), so nothing we
// receive is ever cut short.
const BUF_SIZE = 65536;

// Parse --host H, --count N and --timeout S (a flag's value is the next
// argument). A bad command line throws an Error saying what is wrong; main()
// exits 2 with it.
function parseArgs(argv) {
  const opts = { host: undefined, count: 3, timeout: 1, help: false };
  const flags = ['--host', '--count', '--timeout'];
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
      // test. This ping is IPv4 only, and looks no names up.
      if (net.isIPv6(value)) {
        throw new Error(`bad host: ${value} (IPv6 is in the C and Python ` +
                        'examples; this one is IPv4 only)');
      }
      if (!net.isIPv4(value)) throw new Error(`bad host: ${value}`);
      opts.host = value;
    } else if (arg === '--count') {
      // A whole number from 1.
      if (!/^[0-9]+$/.test(value) || Number(value) < 1 ||
          !Number.isSafeInteger(Number(value))) {
        throw new Error(`bad count: ${value}`);
      }
      opts.count = Number(value);
    } else {
      // Seconds, a decimal number greater than 0: "1", "0.2", "2.50", not
      // ".5" or "5.". Number() alone would also take "-1", "1e3", "0x10" or
      // "Infinity".
      if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || Number(value) <= 0) {
        throw new Error(`bad timeout: ${value}`);
      }
      opts.timeout = Math.min(Number(value), 1e9); // 1e9 s: some 30 years
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
  // socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), through koffi. It needs
  // CAP_NET_RAW: root has it, other users get EPERM.
  let fd;
  try {
    fd = libc.socket(libc.AF_INET, libc.SOCK_RAW, libc.IPPROTO_ICMP);
  } catch (err) {
    const what = err.code === 'EPERM' || err.code === 'EACCES'
      ? 'a raw socket needs CAP_NET_RAW (run as root)' : 'socket';
    throw new Failure(`${what}: ${libc.reason(err)}`);
  }
  dropPrivileges();
  return fd;
}

// Give up root for good, as user nobody, before we touch a packet or print a
// line. The open socket keeps working: the kernel checks CAP_NET_RAW when a
// socket is created, not each time it is used.
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

// ANCHOR: checksum
// The Internet checksum (RFC 1071), which IPv4, ICMP, UDP and TCP all use:
//   1. read the message as 16-bit big-endian words (an odd last byte is the
//      high half of a word whose low half is 0);
//   2. add them up -- a JavaScript number holds integers up to 2^53 exactly,
//      so no carry out of bit 15 is lost;
//   3. fold: add the carries (the bits above 16) back in at the bottom until
//      none are left -- that makes it a one's-complement sum;
//   4. invert the bits, keeping 16 of them.
// The sender computes it with the checksum field set to 0 and stores it
// there. The receiver sums the whole message, checksum included: an intact
// message sums to 0xffff, so this function returns 0 for it.
function internetChecksum(data) {
  let sum = 0;
  for (let i = 0; i + 1 < data.length; i += 2) {
    sum += data.readUInt16BE(i);
  }
  if (data.length % 2 === 1) sum += data[data.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}
// ANCHOR_END: checksum

// ANCHOR: build
// The 64-byte echo request with this identifier and sequence number.
function buildRequest(id, seq) {
  const msg = Buffer.alloc(MESSAGE_LEN); // zeroed: code 0, checksum 0
  msg[0] = ICMP_ECHO_REQUEST; // type
  msg[1] = 0; // code: always 0 for echo
  // Every 16-bit field goes in network byte order, the high byte first:
  // writeUInt16BE(), whatever order this machine keeps numbers in. The
  // identifier tells our replies from other programs' (we use our process
  // id); the sequence number tells one request from the next.
  msg.writeUInt16BE(id, 4);
  msg.writeUInt16BE(seq, 6);
  // The data is ours to choose, and the reply brings it back unchanged. So
  // we put the send time in it -- nanoseconds on the monotonic clock, which
  // never jumps when someone sets the time of day -- and the round trip is
  // "now" minus what the reply carries: nothing to remember per request.
  msg.writeBigUInt64BE(process.hrtime.bigint(), HEADER_LEN);
  for (let i = 0; i < FILLER_LEN; i++) {
    msg[HEADER_LEN + TIME_LEN + i] = 0x20 + i;
  }
  // Last, the checksum over the whole message (its own field still 0),
  // written into bytes 2 and 3.
  msg.writeUInt16BE(internetChecksum(msg), 2);
  return msg;
}
// ANCHOR_END: build

// ANCHOR: send
// sendto() one request. On a raw socket without the IP_HDRINCL option we hand
// over the ICMP message only, and the kernel writes the IP header in front of
// it: source and destination addresses, protocol 1 (the socket's), TTL and
// the header's own checksum. Like a datagram, it goes whole or not at all.
function sendRequest(fd, msg, dest) {
  libc.sendto(fd, msg, msg.length, 0, dest, dest.length);
}
// ANCHOR_END: send

// ANCHOR: receive
// The reply to `seq`: { from, bytes, rttNs }, or null after `deadline` (ns).
async function receiveReply(fd, id, seq, deadline) {
  const buf = Buffer.alloc(BUF_SIZE);
  const from = libc.sockaddrInBuffer(); // the sender's address goes here
  const fromLen = libc.socklen(0); // and its length here
  for (;;) {
    // One deadline, whatever else arrives: SO_RCVTIMEO gets the time left.
    const left = Number(deadline - process.hrtime.bigint()) / 1e9;
    if (left <= 0) return null;
    libc.setReceiveTimeout(fd, left);
    // recvfrom(), through koffi: .async waits on a worker thread.
    fromLen.writeUInt32LE(libc.SOCKADDR_IN_SIZE, 0); // room in `from`
    let n;
    try {
      n = await libc.recvfrom.async(fd, buf, buf.length, 0, from, fromLen);
    } catch (err) {
      if (err.code === 'EAGAIN' || err.code === 'EINTR') continue;
      throw new Failure(`receive: ${libc.reason(err)}`);
    }
    // The IP header first: its length is the IHL (byte 0's low 4 bits) * 4.
    if (n < 20 || buf[0] >> 4 !== 4) continue;
    const ihl = (buf[0] & 0x0f) * 4;
    if (ihl < 20 || ihl > n) continue;
    const msg = buf.subarray(ihl, n);
    // Ours: an echo reply, code 0, with OUR identifier and sequence number.
    if (msg.length < HEADER_LEN + TIME_LEN || msg[0] !== ICMP_ECHO_REPLY ||
        msg[1] !== 0 || msg.readUInt16BE(4) !== id ||
        msg.readUInt16BE(6) !== seq) {
      continue;
    }
    const source = libc.sockaddrInAddress(from); // = bytes 12-15 of the header
    if (internetChecksum(msg) !== 0) { // an intact message sums to 0
      process.stderr.write(`ping: reply from ${source}: seq=${seq}: ` +
                           'bad checksum, dropped\n');
      continue;
    }
    const rttNs = process.hrtime.bigint() - msg.readBigUInt64BE(HEADER_LEN);
    return { from: source, bytes: msg.length, rttNs: rttNs > 0n ? rttNs : 0n };
  }
}
// ANCHOR_END: receive

// One line to stdout. If whoever reads it has gone, the write fails with
// EPIPE (Node ignores SIGPIPE) as an 'error' event, handled in main().
function say(line) {
  process.stdout.write(`${line}\n`);
}

async function ping(fd, opts) {
  const dest = libc.sockaddrIn(opts.host);
  // The identifier is the low 16 bits of our process id, as the classic ping
  // does: unique among the programs running here at one time.
  const id = process.pid & 0xffff;
  let received = 0;
  // One request at a time, the next as soon as the last is answered (or
  // timed out) -- the classic ping waits a second between requests; we keep
  // the example quick. Sequence numbers are 16 bits: after 65,535 they wrap.
  for (let i = 1; i <= opts.count; i++) {
    const seq = i & 0xffff;
    const deadline =
      process.hrtime.bigint() + BigInt(Math.round(opts.timeout * 1e9));
    try {
      sendRequest(fd, buildRequest(id, seq), dest);
    } catch (err) {
      // This request is lost before it left (ENETUNREACH, say): say why,
      // count it as unanswered, and go on.
      process.stderr.write(`ping: send to ${opts.host}: ${libc.reason(err)}\n`);
      say(`no reply from ${opts.host}: seq=${seq}`);
      continue;
    }
    const reply = await receiveReply(fd, id, seq, deadline);
    if (reply === null) {
      say(`no reply from ${opts.host}: seq=${seq}`);
      continue;
    }
    received++;
    const ms = (Number(reply.rttNs) / 1e6).toFixed(3);
    say(`reply from ${reply.from}: seq=${seq} bytes=${reply.bytes} ` +
        `time=${ms} ms`);
  }
  // Every request counts as sent, even one the kernel refused to send.
  const loss = Math.floor((opts.count - received) * 100 / opts.count);
  say(`${opts.count} sent, ${received} received, ${loss}% loss`);
  return received === opts.count;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`ping: ${err.message}\n${USAGE}\n`);
    process.exitCode = 2; // nothing else is open, so Node exits with 2
    return;
  }
  // Node puts /dev/null in place of a closed stdout: libc.js tells them apart.
  if (libc.stdoutIsClosed()) {
    process.stderr.write('ping: stdout: Bad file descriptor\n');
    process.exitCode = 1;
    return;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  let fd = -1;
  try {
    fd = openSocket(); // the socket first, and root given up at once
    // A failed write to stdout (EPIPE: the reader has gone) ends the program:
    // one line, and exit 1. A worker thread may be waiting in recvfrom(), and
    // process.exit() would wait for it; wake() makes it return at once.
    process.stdout.on('error', (err) => {
      process.stderr.write(`ping: stdout: ${libc.reason(err)}\n`);
      if (fd !== -1) libc.wake(fd);
      process.exit(1);
    });
    const allAnswered = await ping(fd, opts);
    process.exitCode = allAnswered ? 0 : 1;
  } catch (err) {
    // A Failure carries its line; anything unforeseen is one line too, never
    // a stack trace.
    process.stderr.write(`ping: ${err instanceof Failure ? err.message
                                   : libc.reason(err)}\n`);
    process.exitCode = 1;
  } finally {
    if (fd !== -1) libc.close(fd);
    fd = -1;
  }
}

main();
