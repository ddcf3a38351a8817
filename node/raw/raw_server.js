'use strict';
// raw_server.js -- a raw IP server: its own protocol (253) straight over IPv4,
// no TCP or UDP, through koffi

// Node's core has no raw sockets, so this server calls the C library through
// koffi (node/unix/libc.js, the binding every Node example shares). Our
// protocol lives directly inside IPv4 packets, next to TCP (6), UDP (17) and
// ICMP (1). Protocol numbers 253 and 254 are reserved for experiments (RFC
// 3692), so no real protocol will ever be confused with ours. A message is
//
//     byte 0     type: 1 = request, 2 = reply
//     byte 1     always 0
//     bytes 2-3  identifier, chosen by the client (network byte order)
//     then       the payload, 0 to 1,400 bytes
//
// There are no ports: the IP protocol number is all the kernel goes by.

const net = require('node:net');
const libc = require('../unix/libc');

const USAGE = 'usage: raw_server [--host A]';

const TYPE_REQUEST = 1;
const TYPE_REPLY = 2;
const MSG_HEADER = 4; // type, zero, identifier
// 20 (IP header) + 4 + 1,400 bytes fit in one 1,500-byte Ethernet frame.
const MAX_PAYLOAD = 1400;
// An IPv4 packet's total length is a 16-bit field: 65,535 bytes at most, so a
// 64 KiB buffer holds any packet whole, however far from our format it is.
const BUF_SIZE = 65536;

// Parse --host A (a flag's value is the next argument). A bad command line
// throws an Error saying what is wrong; main() exits 2 with it.
function parseArgs(argv) {
  const opts = { host: '127.0.0.1', help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help') return { ...opts, help: true };
    if (arg !== '--host') {
      throw new Error(arg.startsWith('-') ? `unknown option: ${arg}`
                                          : `unexpected argument: ${arg}`);
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    // Only the numeric dotted form (net.isIPv4() is Node's inet_pton()
    // test): there is no port to look up, and a name could resolve to several
    // addresses -- the server must know exactly which one it serves.
    if (!net.isIPv4(value)) throw new Error(`bad host: ${value}`);
    opts.host = value;
  }
  return opts;
}

// Logs go to stderr, one line per event; stdout carries only the READY line.
function log(message) {
  process.stderr.write(`raw_server: ${message}\n`);
}

// A failure to start: the one line to print, and exit 1.
class Failure extends Error {}

// ANCHOR: open
// Open the raw socket, bind it to `host` and give up root. Returns the
// descriptor. (If a step fails we exit, and that closes the socket.)
function openSocket(host) {
  // socket(AF_INET, SOCK_RAW, 253), through koffi: every IPv4 packet that
  // carries protocol 253. It needs CAP_NET_RAW: root has it, others get EPERM.
  let fd;
  try {
    fd = libc.socket(libc.AF_INET, libc.SOCK_RAW, libc.IPPROTO_EXPERIMENT);
  } catch (err) {
    const what = err.code === 'EPERM' || err.code === 'EACCES'
      ? 'a raw socket needs CAP_NET_RAW (run as root)' : 'socket';
    throw new Failure(`${what}: ${libc.reason(err)}`);
  }
  // bind() takes an address and no port: only packets addressed TO it reach
  // us (all of 127.0.0.0/8 is this host's), and it is our source address.
  const addr = libc.sockaddrIn(host);
  libc.bind(fd, addr, addr.length); // main() says "bind <host>: ..."
  dropPrivileges();
  return fd;
}

// Give up root for good, as user nobody, BEFORE we read the first byte that
// anybody sent us. The open socket keeps working: the kernel checks
// CAP_NET_RAW when a socket is created, not each time it is used.
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

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`raw_server: ${err.message}\n${USAGE}\n`);
    process.exitCode = 2; // nothing else is open, so Node exits with 2
    return;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  let fd;
  try {
    fd = openSocket(opts.host);
  } catch (err) {
    // A failed call names itself: "bind 127.53.0.1: Cannot assign requested
    // address".
    log(err instanceof Failure ? err.message
                               : `${err.syscall} ${opts.host}: ${libc.reason(err)}`);
    process.exitCode = 1;
    return;
  }

  // ANCHOR: stop
  // Once a handler is installed, SIGTERM (kill) and SIGINT (Ctrl-C) no
  // longer kill the process; Node runs the handler from the event loop -- it
  // can, because recvfrom() waits on a worker thread, not on the loop. But
  // Node will not exit while that thread is inside recvfrom(): libc.wake()
  // (shutdown()) makes the receive return 0 at once. Then we close the socket
  // and exit 0: being asked to stop is not a failure. The handlers go in
  // before READY: whoever starts us may signal as soon as it has that line.
  let stopping = false;
  const stop = (signal) => {
    log(`stopping on ${signal}`);
    stopping = true;
    libc.wake(fd);
    libc.close(fd);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // ANCHOR_END: stop

  // ANCHOR: ready
  // getsockname() reports the address the kernel bound us to. For a raw
  // socket it is just an IP address: we print no port, because there is
  // none. One short line to a pipe is written at once: nothing to flush.
  const bound = libc.sockaddrInBuffer();
  libc.getsockname(fd, bound, libc.socklen(bound.length));
  process.stdout.write(`READY ${libc.sockaddrInAddress(bound)}\n`);
  // ANCHOR_END: ready

  // ANCHOR: serve
  const buf = Buffer.alloc(BUF_SIZE);
  const from = libc.sockaddrInBuffer(); // the packet's source goes here
  const fromLen = libc.socklen(0); // and its length here
  for (;;) {
    // recvfrom(), through koffi (.async waits on a worker thread): one packet.
    fromLen.writeUInt32LE(libc.SOCKADDR_IN_SIZE, 0); // room in `from`
    let n;
    try {
      n = await libc.recvfrom.async(fd, buf, buf.length, 0, from, fromLen);
    } catch (err) {
      if (stopping) return;
      log(`receive: ${libc.reason(err)}`); // belongs to one packet: go on
      continue;
    }
    if (stopping) return; // the 0 that wake() makes recvfrom() return
    // The whole IP packet, header first: the IHL (byte 0's low 4 bits) * 4
    // bytes of it. We never index past what we received.
    if (n < 20 || buf[0] >> 4 !== 4) continue;
    const ihl = (buf[0] & 0x0f) * 4;
    if (ihl < 20 || ihl > n) continue;
    const msg = buf.subarray(ihl, n);
    // Only a well-formed request is answered, never a reply (ours included:
    // two servers would bounce it forever); the rest is dropped unlogged, or
    // anybody could flood our log.
    if (msg.length < MSG_HEADER || msg[0] !== TYPE_REQUEST || msg[1] !== 0 ||
        msg.length - MSG_HEADER > MAX_PAYLOAD) {
      continue;
    }
    const peer = libc.sockaddrInAddress(from);
    log(`${msg.length - MSG_HEADER} bytes from ${peer}`);
    // The reply is the request with its type changed. The kernel writes the
    // IP header (no IP_HDRINCL): protocol 253, our address as the source. A
    // failure concerns this request only: log it, drop it, go on.
    msg[0] = TYPE_REPLY;
    try {
      libc.sendto(fd, msg, msg.length, 0, from, fromLen.readUInt32LE(0));
    } catch (err) {
      log(`${peer}: ${libc.reason(err)}`);
    }
  }
  // ANCHOR_END: serve
}

// Anything unforeseen is one line too, never a stack trace.
main().catch((err) => {
  log(libc.reason(err));
  process.exitCode = 1;
});
