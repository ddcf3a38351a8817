'use strict';
// libc.js -- the C library's raw-socket calls and getpwnam(), declared through
// koffi: the one binding that the chapter 5 examples share

// Node's core has TCP (`net`), UDP (`dgram`) and Unix stream sockets, but no
// raw sockets: nothing opens socket(AF_INET, SOCK_RAW, protocol), where the
// program writes an ICMP or protocol-253 message itself and reads whole IP
// packets back. So, as in chapter 4 (node/unix/libc.js), the examples call the
// C library through koffi (npm): a foreign function interface with prebuilt
// binaries, nothing to compile. koffi.load() opens libc.so.6, lib.func() turns
// a C prototype into a JavaScript function, and calling that calls C.
//
// Giving up root needs no binding: Node has process.setgroups(),
// process.setgid() and process.setuid() of its own, which call the C
// functions of those names and throw an ordinary Error (code 'EPERM') when
// they fail. We use them rather than declare the C functions again here. The
// one thing Node lacks is a lookup of ANOTHER user's ids (os.userInfo() knows
// only our own, and process.setgid('nobody') would look up a *group* called
// nobody -- on Debian nobody's group is called nogroup), so getpwnam() is
// declared below.
//
// The constants and struct layouts are Linux's on 64-bit machines (x86_64,
// aarch64): the C headers are not at hand here, so this file is where they
// are written down.

const koffi = require('koffi');
const util = require('node:util');

const lib = koffi.load('libc.so.6');

// C type names, so that the prototypes below read as in the manual pages.
koffi.alias('ssize_t', 'intptr_t'); // a byte count, or -1
koffi.alias('socklen_t', 'uint32_t'); // the length of an address

// Every call returns -1 and sets errno when it fails. check() turns that into
// an exception: an Error whose message is strerror(errno) ("Operation not
// permitted") and whose code is errno's name ('EPERM').
const strerror = lib.func('const char *strerror(int errnum)');

function errnoError(errno) {
  const err = new Error(strerror(errno));
  err.errno = errno;
  err.code = util.getSystemErrorName(-errno); // libuv numbers errors < 0
  return err;
}

// Wrap a C function: f(...) returns its result or throws; f.async(...)
// returns a promise. koffi runs an .async call on a worker thread, so a call
// that blocks (recvfrom() waiting for a packet) blocks that thread, not the
// event loop: timers and signal handlers go on running. errno belongs to the
// thread that made the call; koffi reads it right after the call and hands it
// to us through koffi.errno(), also for .async calls.
function check(fn) {
  const call = (...args) => {
    const result = fn(...args);
    if (result < 0) throw errnoError(koffi.errno());
    return result;
  };
  call.async = (...args) => new Promise((resolve, reject) => {
    fn.async(...args, (err, result) => {
      if (err) reject(err); // koffi could not make the call at all
      else if (result < 0) reject(errnoError(koffi.errno()));
      else resolve(result);
    });
  });
  return call;
}

// The user database entry that getpwnam() returns a pointer to:
//
//     struct passwd {
//         char  *pw_name;    char *pw_passwd;
//         uid_t  pw_uid;     gid_t pw_gid;     /* 4 bytes each */
//         char  *pw_gecos;   char *pw_dir;     char *pw_shell;
//     };
const passwd = koffi.struct('passwd', {
  pw_name: 'const char *',
  pw_passwd: 'const char *',
  pw_uid: 'uint32_t',
  pw_gid: 'uint32_t',
  pw_gecos: 'const char *',
  pw_dir: 'const char *',
  pw_shell: 'const char *',
});
const cGetpwnam = lib.func('const passwd *getpwnam(const char *name)');

// getpwnam(name): { uid, gid } of that user, or null if there is none. The C
// function returns a pointer into a static buffer (or NULL); koffi.decode()
// copies the struct out of it into a JavaScript object at once.
function getpwnam(name) {
  koffi.errno(0); // NULL with errno still 0 means "no such user"
  const ptr = cGetpwnam(name);
  if (ptr === null) {
    const errno = koffi.errno();
    if (errno !== 0) throw errnoError(errno);
    return null;
  }
  const pw = koffi.decode(ptr, passwd);
  return { uid: pw.pw_uid, gid: pw.pw_gid };
}

// The calls. Addresses, buffers and lengths are passed as Node Buffers
// (`void *`): koffi hands C a pointer to the Buffer's own bytes, so what the
// kernel writes there (an address, a packet, a length) is in the Buffer
// afterwards -- also for .async calls, which must leave those Buffers alone
// until they finish.
module.exports = {
  socket: check(lib.func('int socket(int domain, int type, int protocol)')),
  bind: check(lib.func(
    'int bind(int fd, const void *addr, socklen_t addrlen)')),
  getsockname: check(lib.func(
    'int getsockname(int fd, void *addr, void *addrlen)')), // socklen_t *
  sendto: check(lib.func('ssize_t sendto(int fd, const void *buf, ' +
    'size_t len, int flags, const void *addr, socklen_t addrlen)')),
  recvfrom: check(lib.func('ssize_t recvfrom(int fd, void *buf, ' +
    'size_t len, int flags, void *addr, void *addrlen)')), // socklen_t *
  setsockopt: check(lib.func('int setsockopt(int fd, int level, ' +
    'int optname, const void *optval, socklen_t optlen)')),
  shutdown: check(lib.func('int shutdown(int fd, int how)')),
  close: check(lib.func('int close(int fd)')),
  getpwnam,
  strerror,
};

// Constants from <sys/socket.h> and <netinet/in.h>, as Linux defines them.
Object.assign(module.exports, {
  AF_INET: 2, // IPv4
  SOCK_RAW: 3, // whole IP payloads of one protocol: no TCP, no UDP, no ports
  IPPROTO_ICMP: 1, // the protocol number of ICMP in the IPv4 header
  IPPROTO_EXPERIMENT: 253, // reserved for experiments (RFC 3692)
  SOL_SOCKET: 1, // the level of the socket options below
  SO_RCVTIMEO: 20, // how long a receive may wait: struct timeval
  SHUT_RDWR: 2, // shutdown(): both directions
});

// ---------------------------------------------------------------------------
// IPv4 addresses: struct sockaddr_in, 16 bytes.
//
//     struct sockaddr_in {
//         sa_family_t    sin_family;  /* 0: AF_INET, in the machine's order */
//         in_port_t      sin_port;    /* 2: network order; 0 for raw IP     */
//         struct in_addr sin_addr;    /* 4: 4 bytes, network order          */
//         unsigned char  sin_zero[8]; /* 8: padding, zeros                  */
//     };
//
// A raw socket has no ports: the kernel ignores sin_port when we send and
// sets it to 0 when it tells us where a packet came from.

const SOCKADDR_IN_SIZE = 16;

// The address for a dotted-quad string ("127.53.0.1"); the caller has checked
// it with net.isIPv4(). Each number is one byte, the first one first: that is
// network byte order already.
function sockaddrIn(address) {
  const addr = Buffer.alloc(SOCKADDR_IN_SIZE); // zeroed: port 0, sin_zero
  addr.writeUInt16LE(module.exports.AF_INET, 0); // sin_family
  address.split('.').forEach((part, i) => { addr[4 + i] = Number(part); });
  return addr;
}

// A Buffer for an address the kernel fills in (recvfrom(), getsockname()).
function sockaddrInBuffer() {
  return Buffer.alloc(SOCKADDR_IN_SIZE);
}

// The dotted-quad text of the address in a sockaddr_in (inet_ntop()).
function sockaddrInAddress(addr) {
  return `${addr[4]}.${addr[5]}.${addr[6]}.${addr[7]}`;
}

// A socklen_t that a call reads and writes back: recvfrom()'s and
// getsockname()'s last argument.
function socklen(value) {
  const buf = Buffer.alloc(4);
  buf.writeUInt32LE(value, 0);
  return buf;
}

// The value of SO_RCVTIMEO, a struct timeval { long tv_sec; long tv_usec; }
// (16 bytes), for a number of seconds. A timeval of zero means "wait
// forever", so anything shorter than a microsecond becomes 1 us.
function timeval(seconds) {
  const usec = Math.max(1, Math.round(seconds * 1e6));
  const tv = Buffer.alloc(16);
  tv.writeBigInt64LE(BigInt(Math.floor(usec / 1e6)), 0); // tv_sec
  tv.writeBigInt64LE(BigInt(usec % 1e6), 8); // tv_usec
  return tv;
}

// Wake a thread that is blocked in recvfrom() on fd, so that the process can
// exit: Node's process.exit() waits for its worker threads, and one inside
// recvfrom() would wait for the next packet. shutdown() marks the socket as
// closed for receiving and wakes every waiter; recvfrom() then returns 0. On
// a socket that is not connected -- a raw socket never is -- Linux does that
// and still reports ENOTCONN, which means nothing to us here.
function wake(fd) {
  try {
    module.exports.shutdown(fd, module.exports.SHUT_RDWR);
  } catch (err) {
    if (err.code !== 'ENOTCONN') throw err;
  }
}

// The words for an error: strerror(errno) for one of ours or for one of
// Node's system errors (process.setuid()'s err.errno is positive, fs's
// negative), the message otherwise. "Operation not permitted" rather than
// Node's "EPERM, Operation not permitted".
function describeError(err) {
  if (typeof err.errno === 'number' && err.errno !== 0 && err.syscall) {
    return strerror(Math.abs(err.errno));
  }
  return err.message;
}

Object.assign(module.exports, {
  SOCKADDR_IN_SIZE,
  sockaddrIn,
  sockaddrInBuffer,
  sockaddrInAddress,
  socklen,
  timeval,
  wake,
  describeError,
});
