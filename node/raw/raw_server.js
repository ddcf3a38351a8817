'use strict';
// raw_server.js -- a raw IP server: its own protocol (253) straight over IPv4,
// no TCP or UDP, through koffi

// Node's core has no raw sockets, so this server calls the C library through
// koffi (see libc.js). Our protocol lives directly inside IPv4 packets, next
// to TCP (6), UDP (17) and ICMP (1). Protocol numbers 253 and 254 are
// reserved for experiments (RFC 3692), so no real protocol will ever be
// confused with ours. A message is
//
//     byte 0     type: 1 = request, 2 = reply
//     byte 1     always 0
//     bytes 2-3  identifier, chosen by the client (network byte order)
//     then       the payload, 0 to 1,400 bytes
//
// There are no ports: the IP protocol number is all the kernel goes by.

const net = require('node:net');
const libc = require('./libc');

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
    if (value === undefined) throw new Error(`option ${arg} needs a value`);
    // Only the numeric dotted form (net.isIPv4() is Node's inet_pton()
    // test): there is no port to look up, and a name could resolve to several
    // addresses -- the server must know exactly which one it serves.
    if (!net.isIPv4(value)) {
      throw new Error(`bad host (not a numeric IPv4 address): ${value}`);
    }
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
// descriptor.
function openSocket(host) {
  // socket(AF_INET, SOCK_RAW, 253): SOCK_RAW skips the transport layer -- no
  // TCP, no UDP, no ports. We name the IP protocol ourselves, and the kernel
  // hands this socket every IPv4 packet that carries protocol 253, whoever
  // sent it, whatever it contains. A program that can see and forge packets
  // like that is a risk, so a raw socket needs the CAP_NET_RAW capability:
  // root has it, other users get EPERM.
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
  try {
    // bind() on a raw socket takes an address but no port (there are none;
    // sin_port is ignored). It narrows what we receive: only packets
    // addressed TO this address. Unbound, we would also get every
    // protocol-253 packet sent to any other address of this host -- all of
    // 127.0.0.0/8 is ours on loopback -- including the replies other servers
    // send. Binding also makes this the source address of what we send.
    const addr = libc.sockaddrIn(host);
    try {
      libc.bind(fd, addr, addr.length);
    } catch (err) {
      throw new Failure(`bind ${host}: ${err.message}`);
    }
    dropPrivileges();
  } catch (err) {
    libc.close(fd);
    throw err;
  }
  return fd;
}

// The privilege was needed for one thing, socket(); the socket we got keeps
// working without it, because the kernel checks CAP_NET_RAW when a socket is
// created, not each time it is used. So we give root up now, BEFORE we read
// the first byte anybody sent us: if a bug in our packet parsing could be
// exploited, the attacker would get user nobody, not root.
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
    log(err instanceof Failure ? err.message : libc.describeError(err));
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
    // recvfrom() takes one packet off the queue; .async does the waiting on
    // a worker thread. A raw socket keeps packet boundaries like a datagram
    // socket, and the address it fills in is the packet's source: sin_addr
    // only, sin_port is always 0.
    fromLen.writeUInt32LE(libc.SOCKADDR_IN_SIZE, 0); // room in `from`
    let n;
    try {
      n = await libc.recvfrom.async(fd, buf, buf.length, 0, from, fromLen);
    } catch (err) {
      if (stopping) return;
      log(`recvfrom: ${err.message}`); // belongs to one packet: go on
      continue;
    }
    if (stopping) return; // the 0 that wake() makes recvfrom() return
    // What a raw IPv4 socket receives is the whole IP packet, header first,
    // exactly as it arrived: the kernel does not strip the header for us as
    // it does for TCP and UDP. Byte 0 holds the version (high 4 bits: 4) and
    // the IHL, the Internet Header Length, in 32-bit words (low 4 bits): 5
    // for the usual 20 bytes, up to 15 (60 bytes) with options. So our
    // message starts IHL * 4 bytes in. We never index past what we received.
    // (The source address is in bytes 12-15 of this header too; recvfrom()
    // gave it to us already, in `from`.)
    if (n < 20 || buf[0] >> 4 !== 4) continue;
    const ihl = (buf[0] & 0x0f) * 4;
    if (ihl < 20 || ihl > n) continue;
    const msg = buf.subarray(ihl, n);
    // Anybody who can open a raw socket can send us anything, so we check
    // every field before we believe it, and answer only a well-formed
    // request. Replies land here too -- including the ones we send, whenever
    // a client sends from our own address -- so they must not be answered:
    // two servers would bounce a reply between them forever. Everything else
    // is dropped without a word: logging each stray packet would let anybody
    // flood our log.
    if (msg.length < MSG_HEADER || msg[0] !== TYPE_REQUEST || msg[1] !== 0 ||
        msg.length - MSG_HEADER > MAX_PAYLOAD) {
      continue;
    }
    const peer = libc.sockaddrInAddress(from);
    log(`${msg.length - MSG_HEADER} bytes from ${peer}`);
    // The reply is the request with its type changed: same identifier, same
    // payload. We send only our message: without the IP_HDRINCL option the
    // kernel writes the IP header itself, with protocol 253 (the socket's),
    // our bound address as the source and the peer as the destination. A
    // failure concerns this request only: log it, drop it, go on.
    msg[0] = TYPE_REPLY;
    try {
      libc.sendto(fd, msg, msg.length, 0, from, fromLen.readUInt32LE(0));
    } catch (err) {
      log(`${peer}: ${err.message}`);
    }
  }
  // ANCHOR_END: serve
}

// Anything unforeseen is one line too, never a stack trace.
main().catch((err) => {
  log(libc.describeError(err));
  process.exitCode = 1;
});
