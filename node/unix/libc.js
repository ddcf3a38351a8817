'use strict';
// libc.js -- the C library through koffi: the one binding every Node.js
// example shares (Unix-domain and raw sockets, and C's words for an error)

// Node's core has TCP, UDP and Unix-domain stream sockets, and stops there:
// no Unix datagram sockets, no descriptor passing (SCM_RIGHTS), no
// SO_PEERCRED, no raw sockets, no lookup of another user's ids. And on Node
// 18 and 20 `net` gets abstract names wrong: libuv passes
// sizeof(struct sockaddr_un) as the address length, so "\0demo" binds a
// name of 107 bytes that no other program asks for (Node 22's libuv fixes
// it). So the examples call the C library themselves, through koffi (npm):
// a foreign function interface with prebuilt binaries, nothing to compile.
// koffi.load() opens libc.so.6, lib.func() turns a C prototype into a
// JavaScript function, and calling that calls C.
//
// Every example also takes its error messages from here: strerror() and
// gai_strerror() are C's words for an error ("Connection refused"), which
// Node's own messages ("connect ECONNREFUSED 127.0.0.1:9") are not.
//
// The constants and struct layouts below are Linux's on 64-bit machines
// (x86_64, aarch64): the C headers are not at hand here, so this file is
// where they are written down.

const fs = require('node:fs');
const os = require('node:os');
const util = require('node:util');
const koffi = require('koffi');

const lib = koffi.load('libc.so.6');

// C type names, so that the prototypes below read as in the manual pages.
koffi.alias('ssize_t', 'intptr_t'); // a byte count, or -1
koffi.alias('socklen_t', 'uint32_t'); // the length of an address

const strerror = lib.func('const char *strerror(int errnum)');
const gaiStrerror = lib.func('const char *gai_strerror(int errcode)');

// Every call returns -1 and sets errno when it fails. An Error for that:
// its message is strerror(errno) ("Connection refused"), its code errno's
// name ('ECONNREFUSED'), its syscall the function's name, as Node's are.
function errnoError(errno, syscall) {
  const err = new Error(strerror(errno));
  err.errno = errno;
  err.code = util.getSystemErrorName(-errno); // libuv numbers errors < 0
  err.syscall = syscall;
  return err;
}

// Declare a C function: f(...) returns its result or throws; f.async(...)
// returns a promise. koffi runs an .async call on a worker thread of Node's
// pool, so a call that blocks (accept() waiting for a client) blocks that
// thread, not the event loop: timers and signal handlers go on running.
// errno belongs to the thread that made the call; koffi reads it right after
// the call and hands it to us through koffi.errno(), also for .async calls.
function declare(prototype) {
  const fn = lib.func(prototype);
  const name = fn.info.name;
  const call = (...args) => {
    const result = fn(...args);
    if (result < 0) throw errnoError(koffi.errno(), name);
    return result;
  };
  call.async = (...args) => new Promise((resolve, reject) => {
    fn.async(...args, (err, result) => {
      if (err) reject(err); // koffi could not make the call at all
      else if (result < 0) reject(errnoError(koffi.errno(), name));
      else resolve(result);
    });
  });
  return call;
}

// The calls. Addresses, buffers and lengths are passed as Node Buffers
// (`void *`): koffi hands C a pointer to the Buffer's own bytes, so what the
// kernel writes there (an address, a datagram, a length) is in the Buffer
// afterwards -- also for .async calls, which must leave those Buffers alone
// until they finish. A `void *addrlen` is a socklen_t *: see socklen().
module.exports = {
  socket: declare('int socket(int domain, int type, int protocol)'),
  bind: declare('int bind(int fd, const void *addr, socklen_t addrlen)'),
  listen: declare('int listen(int fd, int backlog)'),
  accept: declare('int accept(int fd, void *addr, void *addrlen)'),
  connect: declare(
    'int connect(int fd, const void *addr, socklen_t addrlen)'),
  getsockname: declare(
    'int getsockname(int fd, void *addr, void *addrlen)'),
  send: declare(
    'ssize_t send(int fd, const void *buf, size_t len, int flags)'),
  recv: declare('ssize_t recv(int fd, void *buf, size_t len, int flags)'),
  sendto: declare('ssize_t sendto(int fd, const void *buf, size_t len, ' +
    'int flags, const void *addr, socklen_t addrlen)'),
  recvfrom: declare('ssize_t recvfrom(int fd, void *buf, size_t len, ' +
    'int flags, void *addr, void *addrlen)'),
  sendmsg: declare('ssize_t sendmsg(int fd, const void *msg, int flags)'),
  recvmsg: declare('ssize_t recvmsg(int fd, void *msg, int flags)'),
  getsockopt: declare('int getsockopt(int fd, int level, int optname, ' +
    'void *optval, void *optlen)'),
  setsockopt: declare('int setsockopt(int fd, int level, int optname, ' +
    'const void *optval, socklen_t optlen)'),
  shutdown: declare('int shutdown(int fd, int how)'),
  close: declare('int close(int fd)'),
  unlink: declare('int unlink(const char *path)'),
  strerror,
};

// Constants from <sys/socket.h>, <sys/un.h> and <netinet/in.h>, as Linux
// defines them.
Object.assign(module.exports, {
  AF_UNIX: 1, // Unix-domain sockets: addresses are names, not IPs and ports
  AF_INET: 2, // IPv4
  SOCK_STREAM: 1, // a connected byte stream
  SOCK_DGRAM: 2, // separate messages, each with its sender's address
  SOCK_RAW: 3, // whole IP payloads of one protocol: no TCP, no UDP, no ports
  SOCK_NONBLOCK: 0o4000, // or'ed into the type: calls fail, never wait
  IPPROTO_ICMP: 1, // the protocol number of ICMP in the IPv4 header
  IPPROTO_EXPERIMENT: 253, // reserved for experiments (RFC 3692)
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
// A filesystem path is stored with its terminating NUL (107 bytes at most).
// An abstract name is a NUL byte and then the name, and the address length
// must cover exactly those bytes: offsetof(sun_path) + 1 + the name's
// length, not sizeof(struct sockaddr_un). In logs it is written "@name".

const SA_FAMILY_SIZE = 2; // sizeof(sa_family_t)
const SUN_PATH_OFFSET = SA_FAMILY_SIZE; // offsetof(sockaddr_un, sun_path)
const SUN_PATH_SIZE = 108;
const SOCKADDR_UN_SIZE = SUN_PATH_OFFSET + SUN_PATH_SIZE;
const MAX_PATH_BYTES = SUN_PATH_SIZE - 1;

// The address for a path or an "@name": the bytes of a sockaddr_un, and the
// length to pass with them.
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

// A --path that cannot be an address throws an Error with the words of the
// contract's usage error: empty, a bare "@", or longer than sun_path holds --
// counted in bytes (UTF-8), as the kernel counts, never cut short.
function checkPath(path) {
  if (path === '') throw new Error('--path is empty');
  if (path === '@') throw new Error('--path needs a name after the @');
  const bytes = Buffer.byteLength(path.startsWith('@') ? path.slice(1) : path);
  if (bytes > MAX_PATH_BYTES) {
    throw new Error(`--path is ${bytes} bytes; a socket address holds at ` +
                    `most ${MAX_PATH_BYTES}`);
  }
}

// A Buffer for an address the kernel fills in (accept(), recvfrom(),
// getsockname()).
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
// accept()'s, recvfrom()'s, getsockname()'s and getsockopt()'s last argument.
function socklen(value) {
  const buf = Buffer.alloc(4);
  buf.writeUInt32LE(value, 0);
  return buf;
}

// The name a Unix-domain socket is bound to, as getsockname() reports it:
// the path, or "@name".
function unixSocketName(fd) {
  const addr = sockaddrUnBuffer();
  const len = socklen(addr.length);
  module.exports.getsockname(fd, addr, len);
  return sockaddrUnName(addr, len.readUInt32LE(0));
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
// Raw sockets (chapter 5). IPv4 addresses: struct sockaddr_in, 16 bytes.
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

// Set SO_RCVTIMEO: a receive on fd that waits longer fails with EAGAIN.
function setReceiveTimeout(fd, seconds) {
  const tv = timeval(seconds);
  module.exports.setsockopt(fd, module.exports.SOL_SOCKET,
                            module.exports.SO_RCVTIMEO, tv, tv.length);
}

// Wake a thread that is blocked in recvfrom() or accept() on fd, so that the
// process can exit: Node's process.exit() waits for its worker threads, and
// one inside recvfrom() would wait for the next packet. shutdown() wakes
// every waiter (recvfrom() returns 0, accept() fails with EINVAL). On a
// socket that is not connected Linux does that and still reports ENOTCONN,
// which means nothing to us here.
function wake(fd) {
  try {
    module.exports.shutdown(fd, module.exports.SHUT_RDWR);
  } catch (err) {
    if (err.code !== 'ENOTCONN') throw err;
  }
}

// The user database entry that getpwnam() returns a pointer to:
//
//     struct passwd {
//         char  *pw_name;    char *pw_passwd;
//         uid_t  pw_uid;     gid_t pw_gid;     /* 4 bytes each */
//         char  *pw_gecos;   char *pw_dir;     char *pw_shell;
//     };
//
// Node has process.setgroups(), setgid() and setuid() of its own, but no way
// to look up ANOTHER user's ids (os.userInfo() knows only our own, and
// process.setgid('nobody') would look up a *group* called nobody -- on
// Debian nobody's group is nogroup). So getpwnam() comes from C.
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
    if (errno !== 0) throw errnoError(errno, 'getpwnam');
    return null;
  }
  const pw = koffi.decode(ptr, passwd);
  return { uid: pw.pw_uid, gid: pw.pw_gid };
}

// ---------------------------------------------------------------------------
// C's words for an error, whoever raised it:
// - one of our calls, or one of Node's own system errors (net, dgram, fs,
//   process.setuid()): err.code is errno's name ('ECONNREFUSED'), and
//   os.constants.errno gives its number for strerror(). Node's own messages
//   are libuv's, which differ from C's in more than case:
//   "connect ECONNREFUSED 127.0.0.1:9", "host is unreachable" for
//   "No route to host";
// - a failed dns.lookup(): err.code is 'ENOTFOUND' for two different
//   getaddrinfo() errors, but err.errno is libuv's number for the EAI_ code,
//   whose name gives glibc's number for gai_strerror() below;
// - anything else (an Error of our own): its message.
// (A table of C's texts would do as well; strerror() is the one that cannot
// go stale or miss an error.)
const EAI = {
  EAI_BADFLAGS: -1, EAI_NONAME: -2, EAI_AGAIN: -3, EAI_FAIL: -4,
  EAI_NODATA: -5, EAI_FAMILY: -6, EAI_SOCKTYPE: -7, EAI_SERVICE: -8,
  EAI_ADDRFAMILY: -9, EAI_MEMORY: -10, EAI_OVERFLOW: -12,
};

function reason(err) {
  if (err.syscall === 'getaddrinfo' && typeof err.errno === 'number') {
    const name = util.getSystemErrorMap().get(err.errno)?.[0];
    if (name in EAI) return gaiStrerror(EAI[name]);
  }
  const errno = os.constants.errno[err.code];
  if (errno !== undefined) return strerror(errno);
  return err.message;
}

// Whether we were started with stdout closed (`prog >&-`). Node never lets a
// program see that: at start-up it opens /dev/null, read-write, in place of a
// missing descriptor 0, 1 or 2, so everything we print would vanish and we
// would exit 0. A shell's `>/dev/null` opens it write-only, so the stand-in
// is /dev/null with read-write access, which Linux's /proc/self/fdinfo
// shows (O_ACCMODE, the low 2 bits of `flags:`, is 2 for O_RDWR).
function stdoutIsClosed() {
  try {
    const stdout = fs.fstatSync(1);
    if (!stdout.isCharacterDevice() ||
        stdout.rdev !== fs.statSync('/dev/null').rdev) {
      return false;
    }
    const info = fs.readFileSync('/proc/self/fdinfo/1', 'utf8');
    const flags = /^flags:\s*([0-7]+)$/m.exec(info);
    return flags !== null && (parseInt(flags[1], 8) & 3) === 2;
  } catch (err) {
    return err.code === 'EBADF'; // a Node that does not stand in for it
  }
}

Object.assign(module.exports, {
  checkPath,
  sockaddrUn,
  sockaddrUnBuffer,
  sockaddrUnName,
  socklen,
  unixSocketName,
  msghdr,
  msgControlLen,
  rightsControl,
  rightsControlBuffer,
  rightsFromControl,
  sockaddrIn,
  sockaddrInBuffer,
  sockaddrInAddress,
  setReceiveTimeout,
  wake,
  getpwnam,
  reason,
  stdoutIsClosed,
  SA_FAMILY_SIZE,
  SOCKADDR_UN_SIZE,
  SOCKADDR_IN_SIZE,
  MAX_PATH_BYTES,
});
