'use strict';
// libc.js -- the C library's socket calls, declared through koffi: the one
// binding that the Unix-domain examples share, with sockaddr_un and msghdr

// Node's core `net` module has Unix-domain *stream* sockets, but nothing
// else of chapter 4: `dgram` is UDP only, so no Unix datagram sockets; no
// way to send or receive a descriptor (SCM_RIGHTS); no SO_PEERCRED. And on
// Node 18 and 20 it gets abstract names wrong: its libuv passes
// sizeof(struct sockaddr_un) as the address length, so "\0demo" binds a name
// of 107 bytes, "demo" and 103 NULs, that no other program asks for (a later
// libuv, the one in Node 22, fixes it). So these examples call the C library
// themselves, through koffi (npm): a foreign function interface with
// prebuilt binaries, nothing to compile. koffi.load() opens libc.so.6,
// lib.func() turns a C prototype into a JavaScript function, and calling that
// calls C.
//
// The constants and struct layouts below are Linux's on 64-bit machines
// (x86_64, aarch64): the C headers are not at hand here, so this file is
// where they are written down.

const koffi = require('koffi');
const util = require('node:util');

const lib = koffi.load('libc.so.6');

// C type names, so that the prototypes below read as in the manual pages.
koffi.alias('ssize_t', 'intptr_t'); // a byte count, or -1
koffi.alias('socklen_t', 'uint32_t'); // the length of an address

// Every call returns -1 and sets errno when it fails. check() turns that into
// an exception: an Error whose message is strerror(errno) ("Connection
// refused") and whose code is errno's name ('ECONNREFUSED').
const strerror = lib.func('const char *strerror(int errnum)');

function errnoError(errno) {
  const err = new Error(strerror(errno));
  err.errno = errno;
  err.code = util.getSystemErrorName(-errno); // libuv numbers errors < 0
  return err;
}

// Wrap a C function: f(...) returns its result or throws; f.async(...)
// returns a promise. koffi runs an .async call on a worker thread of Node's
// pool, so a call that blocks (accept() waiting for a client) blocks that
// thread, not the event loop: timers and signal handlers go on running.
// errno belongs to the thread that made the call; koffi reads it right after
// a call and hands it to us through koffi.errno(), also for .async calls
// (it sets it again on the main thread before our callback runs).
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

// The calls. Addresses, buffers and lengths are passed as Node Buffers
// (`void *`): koffi hands C a pointer to the Buffer's own bytes, so what the
// kernel writes there (an address, a datagram, a length) is in the Buffer
// afterwards -- also for .async calls, which must leave those Buffers alone
// until they finish.
module.exports = {
  socket: check(lib.func('int socket(int domain, int type, int protocol)')),
  bind: check(lib.func(
    'int bind(int fd, const void *addr, socklen_t addrlen)')),
  listen: check(lib.func('int listen(int fd, int backlog)')),
  accept: check(lib.func(
    'int accept(int fd, void *addr, void *addrlen)')), // socklen_t *addrlen
  connect: check(lib.func(
    'int connect(int fd, const void *addr, socklen_t addrlen)')),
  send: check(lib.func(
    'ssize_t send(int fd, const void *buf, size_t len, int flags)')),
  recv: check(lib.func(
    'ssize_t recv(int fd, void *buf, size_t len, int flags)')),
  sendto: check(lib.func('ssize_t sendto(int fd, const void *buf, ' +
    'size_t len, int flags, const void *addr, socklen_t addrlen)')),
  recvfrom: check(lib.func('ssize_t recvfrom(int fd, void *buf, ' +
    'size_t len, int flags, void *addr, void *addrlen)')),
  sendmsg: check(lib.func(
    'ssize_t sendmsg(int fd, const void *msg, int flags)')),
  recvmsg: check(lib.func('ssize_t recvmsg(int fd, void *msg, int flags)')),
  getsockopt: check(lib.func('int getsockopt(int fd, int level, ' +
    'int optname, void *optval, void *optlen)')), // socklen_t *optlen
  setsockopt: check(lib.func('int setsockopt(int fd, int level, ' +
    'int optname, const void *optval, socklen_t optlen)')),
  shutdown: check(lib.func('int shutdown(int fd, int how)')),
  close: check(lib.func('int close(int fd)')),
  unlink: check(lib.func('int unlink(const char *path)')),
};

// Constants from <sys/socket.h> and <sys/un.h>, as Linux defines them.
Object.assign(module.exports, {
  AF_UNIX: 1, // Unix-domain sockets: addresses are names, not IPs and ports
  SOCK_STREAM: 1, // a connected byte stream
  SOCK_DGRAM: 2, // separate messages, each with its sender's address
  SOCK_NONBLOCK: 0o4000, // or'ed into the type: calls fail, never wait
  SOL_SOCKET: 1, // the level of the socket options below
  SO_PEERCRED: 17, // who is on the other end: struct ucred
  SO_RCVTIMEO: 20, // how long a receive may wait: struct timeval
  SCM_RIGHTS: 1, // ancillary data that carries descriptors
  MSG_TRUNC: 0x20, // recv*(): report a datagram's full length
  MSG_DONTWAIT: 0x40, // this call only: fail with EAGAIN, never wait
  SHUT_WR: 1, // shutdown(): no more sending (end-of-file for the peer)
  SHUT_RDWR: 2, // shutdown(): both directions
});

// ---------------------------------------------------------------------------
// ANCHOR: sockaddr
// Addresses: struct sockaddr_un.
//
//     struct sockaddr_un {
//         sa_family_t sun_family;   /* AF_UNIX, 2 bytes */
//         char        sun_path[108];
//     };
//
// A filesystem path is stored with its terminating NUL, so it may be at most
// 107 bytes. An abstract name (Linux only) is a NUL byte and then the name;
// the kernel takes the name to be exactly the bytes that the address length
// covers -- no terminator -- so the length must be counted exactly:
// offsetof(sun_path) + 1 + the name's length, not sizeof(struct sockaddr_un).
// On the command line and in logs an abstract name is written "@name".

const SA_FAMILY_SIZE = 2; // sizeof(sa_family_t)
const SUN_PATH_OFFSET = SA_FAMILY_SIZE; // offsetof(sockaddr_un, sun_path)
const SUN_PATH_SIZE = 108;
const SOCKADDR_UN_SIZE = SUN_PATH_OFFSET + SUN_PATH_SIZE;
const MAX_PATH_BYTES = SUN_PATH_SIZE - 1;

// A --path that cannot be an address throws an Error saying why: empty, a
// bare "@", or longer than sun_path holds -- counted in bytes (UTF-8), as
// the kernel counts, never cut short.
function checkPath(path) {
  if (path === '') throw new Error('the path is empty');
  if (path === '@') throw new Error('the abstract name after @ is empty');
  const abstract = path.startsWith('@');
  const bytes = Buffer.byteLength(abstract ? path.slice(1) : path);
  if (bytes > MAX_PATH_BYTES) {
    throw new Error(`${abstract ? 'the abstract name' : 'the path'} is ` +
                    `${bytes} bytes, more than the ${MAX_PATH_BYTES} a Unix ` +
                    'socket address can hold');
  }
}

// Build the address for a path or an "@name": the bytes of a sockaddr_un,
// and the length to pass with them.
function sockaddrUn(path) {
  const addr = Buffer.alloc(SOCKADDR_UN_SIZE); // zeroed: sun_path[0] = 0
  addr.writeUInt16LE(module.exports.AF_UNIX, 0); // sun_family
  if (path.startsWith('@')) {
    const name = Buffer.from(path.slice(1));
    name.copy(addr, SUN_PATH_OFFSET + 1); // after the leading NUL
    return { addr, len: SUN_PATH_OFFSET + 1 + name.length };
  }
  const name = Buffer.from(path);
  if (name.length > MAX_PATH_BYTES) {
    throw new Error(`the path is ${name.length} bytes, more than the ` +
                    `${MAX_PATH_BYTES} a Unix socket address can hold`);
  }
  name.copy(addr, SUN_PATH_OFFSET); // the NUL after it is already there
  return { addr, len: SUN_PATH_OFFSET + name.length + 1 };
}
// ANCHOR_END: sockaddr

// A Buffer for an address the kernel fills in (accept(), recvfrom()).
function sockaddrUnBuffer() {
  return Buffer.alloc(SOCKADDR_UN_SIZE);
}

// The name of an address that the kernel filled in, len bytes of it: the
// path, "@name", or "unnamed" for a socket that never bound a name (the
// kernel then returns just the family: len == sizeof(sa_family_t)).
function sockaddrUnName(addr, len) {
  if (len <= SA_FAMILY_SIZE) return 'unnamed';
  if (addr[SUN_PATH_OFFSET] === 0) {
    return '@' + addr.toString('utf8', SUN_PATH_OFFSET + 1, len);
  }
  const end = addr.indexOf(0, SUN_PATH_OFFSET);
  return addr.toString('utf8', SUN_PATH_OFFSET,
                       end === -1 || end > len ? len : end);
}

// A socklen_t (or any 32-bit length) that a call reads and writes back:
// accept()'s, recvfrom()'s and getsockopt()'s last argument.
function socklen(value) {
  const buf = Buffer.alloc(4);
  buf.writeUInt32LE(value, 0);
  return buf;
}

// ---------------------------------------------------------------------------
// Messages with ancillary data: struct msghdr for sendmsg() and recvmsg().
//
//     struct iovec   { void *iov_base; size_t iov_len; };            16 bytes
//     struct msghdr  {
//         void         *msg_name;       /*  0: an address, or NULL      */
//         socklen_t     msg_namelen;    /*  8: (4 bytes of padding)     */
//         struct iovec *msg_iov;        /* 16: the data, in pieces      */
//         size_t        msg_iovlen;     /* 24: how many pieces          */
//         void         *msg_control;    /* 32: the ancillary data       */
//         size_t        msg_controllen; /* 40: its length               */
//         int           msg_flags;      /* 48: set by recvmsg()         */
//     };                                /* 56 bytes                     */
//     struct cmsghdr {                  /* one piece of ancillary data  */
//         size_t cmsg_len;              /*  0: CMSG_LEN(data length)    */
//         int    cmsg_level;            /*  8: SOL_SOCKET               */
//         int    cmsg_type;             /* 12: SCM_RIGHTS               */
//         /* the data, here an array of int descriptors */        /* 16 */
//     };
//
// A msghdr holds pointers, so we need the addresses of Buffers:
// koffi.address() gives them. A Buffer's bytes stay where they are while the
// Buffer lives, and the caller keeps the data and control Buffers for as long
// as the msghdr is in use.

const MSGHDR_SIZE = 56;
const IOVEC_SIZE = 16;
const CMSGHDR_SIZE = 16;
const INT_SIZE = 4;

// CMSG_LEN(n): a cmsghdr with n bytes of data. CMSG_SPACE(n): the same,
// rounded up to 8 bytes: the room to leave for it in msg_control.
const cmsgLen = (n) => CMSGHDR_SIZE + n;
const cmsgSpace = (n) => CMSGHDR_SIZE + Math.ceil(n / 8) * 8;

// A msghdr with no address, the bytes of `data` as its one iovec, and
// `control` (or nothing) as its ancillary data. The iovec is kept in the same
// Buffer, just after the msghdr, so it lives as long as the msghdr does.
function msghdr(data, control) {
  const msg = Buffer.alloc(MSGHDR_SIZE + IOVEC_SIZE);
  const iov = MSGHDR_SIZE; // offset of the iovec
  msg.writeBigUInt64LE(koffi.address(data), iov); // iov_base
  msg.writeBigUInt64LE(BigInt(data.length), iov + 8); // iov_len
  msg.writeBigUInt64LE(koffi.address(msg) + BigInt(iov), 16); // msg_iov
  msg.writeBigUInt64LE(1n, 24); // msg_iovlen
  if (control) {
    msg.writeBigUInt64LE(koffi.address(control), 32); // msg_control
    msg.writeBigUInt64LE(BigInt(control.length), 40); // msg_controllen
  }
  return msg;
}

// What recvmsg() wrote back into a msghdr: msg_controllen, how much
// ancillary data arrived.
const msgControlLen = (msg) => Number(msg.readBigUInt64LE(40));

// Ancillary data carrying one descriptor: a cmsghdr of type SCM_RIGHTS whose
// data is the int. The kernel installs a duplicate of it in the receiving
// process, under a number of that process's own.
function rightsControl(fd) {
  const control = Buffer.alloc(cmsgSpace(INT_SIZE));
  control.writeBigUInt64LE(BigInt(cmsgLen(INT_SIZE)), 0); // cmsg_len
  control.writeInt32LE(module.exports.SOL_SOCKET, 8); // cmsg_level
  control.writeInt32LE(module.exports.SCM_RIGHTS, 12); // cmsg_type
  control.writeInt32LE(fd, CMSGHDR_SIZE); // CMSG_DATA: the descriptor
  return control;
}

// Room for the ancillary data of one descriptor, for recvmsg().
function rightsControlBuffer() {
  return Buffer.alloc(cmsgSpace(INT_SIZE));
}

// The descriptor in ancillary data that recvmsg() filled in (controlLen
// bytes of it), or -1 if no SCM_RIGHTS message with one came.
function rightsFromControl(control, controlLen) {
  if (controlLen < cmsgLen(INT_SIZE)) return -1;
  const len = Number(control.readBigUInt64LE(0));
  const level = control.readInt32LE(8);
  const type = control.readInt32LE(12);
  if (level !== module.exports.SOL_SOCKET ||
      type !== module.exports.SCM_RIGHTS || len < cmsgLen(INT_SIZE)) {
    return -1;
  }
  return control.readInt32LE(CMSGHDR_SIZE);
}

// ---------------------------------------------------------------------------
// The words for an error: strerror(errno) for one of ours or one of Node's
// own system errors (fs, net: err.errno is the negative errno), the message
// otherwise. "No such file or directory" rather than Node's
// "ENOENT: no such file or directory, open 'x'".
function describeError(err) {
  if (typeof err.errno === 'number' && err.errno < 0 && err.syscall) {
    return strerror(-err.errno);
  }
  return err.message;
}

Object.assign(module.exports, {
  strerror,
  checkPath,
  sockaddrUn,
  sockaddrUnBuffer,
  sockaddrUnName,
  socklen,
  msghdr,
  msgControlLen,
  rightsControl,
  rightsControlBuffer,
  rightsFromControl,
  describeError,
  SA_FAMILY_SIZE,
  SOCKADDR_UN_SIZE,
  MAX_PATH_BYTES,
});
