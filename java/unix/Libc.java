// Libc.java -- the C library's calls through JNA, for the Unix-domain and the raw-socket examples.

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.ptr.IntByReference;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

// Why this file exists. Java 17's JDK knows one kind of Unix-domain socket: a
// stream socket on a filesystem path (java.net.UnixDomainSocketAddress, with
// SocketChannel and ServerSocketChannel). It has no abstract names, no datagram
// sockets and no descriptor passing (SCM_RIGHTS), and its peer credentials
// (jdk.net.ExtendedSocketOptions.SO_PEERCRED) give the user and group but not
// the pid. Nor has it raw sockets (socket(AF_INET, SOCK_RAW, protocol)), or a
// way to give up root's privileges (setuid()). So the Java examples of chapters
// 4 and 5 call the C library directly, through JNA (Java Native Access;
// Debian's libjna-java, /usr/share/java/jna.jar) -- for all four Unix-domain
// kinds, even the stream one the JDK could do, so that they all look alike, and
// alike the C listings: socket(), bind(), accept() with the same names,
// arguments and errno values. This file is in java/unix/; java/Makefile
// compiles it into the raw examples' jar too.
//
// How JNA works: we declare a Java interface whose methods have the names and
// argument types of the C functions, and Native.load() returns an object that
// implements it by calling into libc.so.6. Java types stand for C types:
// int for int, long for size_t and ssize_t (64 bits on Linux x86_64), byte[]
// for a buffer (JNA copies it in and back out), a Structure subclass for a
// pointer to a C struct (JNA writes the Java fields into native memory before
// the call and reads them back after it), and IntByReference for an int* that
// the call fills in (socklen_t *addrlen). A `struct sockaddr *` is declared as
// any Structure: a SockaddrUn (AF_UNIX) or a SockaddrIn (AF_INET), or null.
//
// Errors: a method that declares "throws LastErrorException" makes JNA clear
// errno before the call and throw if the call set it; getErrorCode() is the
// errno value and message() below turns it into strerror()'s text, such as
// "Connection refused" -- what C's perror() would print.
//
// The constants and struct layouts are those of Linux on x86_64 (the numbers
// come from <sys/socket.h>, <sys/un.h>, <netinet/in.h>, <errno.h>,
// <bits/stat.h> and <pwd.h>).
public interface Libc extends Library {
    // "c" is the C library itself: JNA loads libc.so.6.
    Libc C = Native.load("c", Libc.class);

    // Address families and socket types: socket(AF_UNIX, SOCK_STREAM, 0),
    // socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), ...
    int AF_UNIX = 1;
    int AF_INET = 2;
    int SOCK_STREAM = 1;
    int SOCK_DGRAM = 2;
    int SOCK_RAW = 3;

    // The protocols of chapter 5's raw sockets: ICMP, and 253, set aside for
    // experiments (RFC 3692).
    int IPPROTO_ICMP = 1;
    int IPPROTO_EXPERIMENT = 253;

    // Socket options and ancillary data (SOL_SOCKET is also a cmsg_level).
    int SOL_SOCKET = 1;
    int SO_PEERCRED = 17;
    int SO_RCVTIMEO = 20;
    int SCM_RIGHTS = 1;

    // Flags for send() and recv().
    int MSG_CTRUNC = 0x08;     // recvmsg: the ancillary data did not fit
    int MSG_TRUNC = 0x20;      // recv: return the datagram's real length even if cut
    int MSG_DONTWAIT = 0x40;   // this call only: fail with EAGAIN rather than block
    int MSG_NOSIGNAL = 0x4000; // a closed peer is EPIPE, not the signal SIGPIPE

    int SHUT_WR = 1;           // shutdown(): no more sending
    int SHUT_RDWR = 2;         // shutdown(): no more sending or receiving
    int O_RDONLY = 0;          // open(): for reading

    // errno values the examples look at by name.
    int EPERM = 1;             // socket(SOCK_RAW) without CAP_NET_RAW
    int EINTR = 4;             // a signal interrupted the call: make it again
    int EAGAIN = 11;           // also EWOULDBLOCK; and SO_RCVTIMEO ran out
    int EADDRINUSE = 98;
    int ECONNREFUSED = 111;

    // The file-type bits of st_mode (lstat) and the type of a socket.
    int S_IFMT = 0170000;
    int S_IFSOCK = 0140000;

    // sockaddr_un is 2 bytes of family and 108 of path; the examples' own limit
    // follows from it: 107 bytes, leaving room for a filesystem path's final NUL.
    int SUN_PATH_SIZE = 108;
    int SUN_PATH_OFFSET = 2;   // offsetof(struct sockaddr_un, sun_path)
    int MAX_PATH_BYTES = SUN_PATH_SIZE - 1;

    // sizeof(struct sockaddr_in)
    int SOCKADDR_IN_SIZE = 16;

    // ---- The calls ----------------------------------------------------------------

    int socket(int domain, int type, int protocol) throws LastErrorException;

    int bind(int fd, Structure addr, int addrlen) throws LastErrorException;

    int listen(int fd, int backlog) throws LastErrorException;

    int accept(int fd, Structure addr, IntByReference addrlen) throws LastErrorException;

    int connect(int fd, Structure addr, int addrlen) throws LastErrorException;

    int getsockname(int fd, Structure addr, IntByReference addrlen) throws LastErrorException;

    long read(int fd, byte[] buf, long count) throws LastErrorException;

    long write(int fd, byte[] buf, long count) throws LastErrorException;

    long send(int fd, byte[] buf, long len, int flags) throws LastErrorException;

    long recv(int fd, byte[] buf, long len, int flags) throws LastErrorException;

    long sendto(int fd, byte[] buf, long len, int flags, Structure to, int tolen)
            throws LastErrorException;

    long recvfrom(int fd, byte[] buf, long len, int flags, Structure from,
                  IntByReference fromlen) throws LastErrorException;

    long sendmsg(int fd, Msghdr msg, int flags) throws LastErrorException;

    long recvmsg(int fd, Msghdr msg, int flags) throws LastErrorException;

    int getsockopt(int fd, int level, int name, Structure value, IntByReference len)
            throws LastErrorException;

    int setsockopt(int fd, int level, int name, Structure value, int len)
            throws LastErrorException;

    int shutdown(int fd, int how) throws LastErrorException;

    int close(int fd) throws LastErrorException;

    // Paths are passed as NUL-terminated UTF-8 bytes (cString below), so that what
    // reaches the kernel is exactly the bytes we counted against the 107-byte limit.
    int unlink(byte[] path) throws LastErrorException;

    int chmod(byte[] path, int mode) throws LastErrorException;

    int open(byte[] path, int flags) throws LastErrorException;

    // lstat() fills in a struct stat (144 bytes on x86_64); we only read st_mode.
    int lstat(byte[] path, byte[] statbuf) throws LastErrorException;

    // inet_pton(AF_INET, "127.0.0.1", 4 bytes): the C library's parser for a numeric
    // address. It returns 1 and fills in the 4 bytes, in network order, or 0 if the
    // text is not four decimal numbers 0-255 separated by dots. It looks nothing up.
    int inet_pton(int af, String src, byte[] dst);

    // Who we are and who we become. setgroups(0, NULL) empties the list of
    // supplementary groups; setgid() and setuid() set the real, effective and saved
    // ids at once when called by root, so there is no way back. size_t is a long.
    int geteuid();

    int setgroups(long size, int[] list) throws LastErrorException;

    int setgid(int gid) throws LastErrorException;

    int setuid(int uid) throws LastErrorException;

    // getpwnam("nobody"): the user's entry in the password database (/etc/passwd,
    // or whatever /etc/nsswitch.conf says), or NULL -- null here -- if there is no
    // such user. It is not declared to throw: it may leave errno set even when it
    // succeeds (a lookup source it tried and skipped), so we look only at NULL.
    Passwd getpwnam(String name);

    // umask() and getpid() cannot fail; strerror() gives errno's text.
    int umask(int mask);

    int getpid();

    String strerror(int errnum);

    // ---- The structs ---------------------------------------------------------------

    // ANCHOR: sockaddr
    // struct sockaddr_un { sa_family_t sun_family; char sun_path[108]; } -- 110 bytes.
    // A filesystem address is the path and a NUL; an address in Linux's abstract
    // namespace is a NUL and then the name, and there the address LENGTH says
    // where the name ends: "\0demo" is a different name from "\0demo\0\0\0...".
    // So every address travels with its exact length, which of() computes:
    // offsetof(sun_path) + the bytes used, never sizeof(struct sockaddr_un).
    @Structure.FieldOrder({"sun_family", "sun_path"})
    class SockaddrUn extends Structure {
        public short sun_family = AF_UNIX;
        public byte[] sun_path = new byte[SUN_PATH_SIZE];

        // The address as --path wrote it: "/tmp/x.sock" or "@name". Throws
        // IllegalArgumentException, with the usage error's words, for an empty
        // path, a bare "@" or one that does not fit.
        public static SockaddrUn of(String path) {
            SockaddrUn sa = new SockaddrUn();
            boolean isAbstract = path.startsWith("@");
            byte[] name = (isAbstract ? path.substring(1) : path).getBytes(StandardCharsets.UTF_8);
            if (name.length == 0) {
                throw new IllegalArgumentException(isAbstract
                        ? "--path needs a name after the @" : "--path is empty");
            }
            if (name.length > MAX_PATH_BYTES) {
                throw new IllegalArgumentException("--path is " + name.length
                        + " bytes; a socket address holds at most " + MAX_PATH_BYTES);
            }
            // The array starts all zeros: an abstract address keeps sun_path[0] = 0,
            // a filesystem one keeps the NUL after its last byte.
            System.arraycopy(name, 0, sa.sun_path, isAbstract ? 1 : 0, name.length);
            sa.isAbstract = isAbstract;
            sa.length = SUN_PATH_OFFSET + (isAbstract ? 1 + name.length : name.length + 1);
            sa.path = path;
            return sa;
        }
    // ANCHOR_END: sockaddr

        // Not C fields (JNA maps only the public fields named in FieldOrder).
        private boolean isAbstract;
        private int length = SUN_PATH_OFFSET + SUN_PATH_SIZE;
        private String path;

        // The address length to pass to bind(), connect() and sendto().
        public int length() {
            return length;
        }

        public boolean isAbstract() {
            return isAbstract;
        }

        // The filesystem path as a C string, for unlink(), chmod() and lstat().
        public byte[] cPath() {
            return cString(path);
        }

        // How an address the kernel filled in (accept, recvfrom, getsockname) reads in
        // the examples' logs: its path, "@name" for an abstract one, or "unnamed"
        // for a socket that never bound an address -- the kernel then returns just
        // the family, len <= sizeof(sa_family_t), or (from some calls) an empty path.
        public String describe(int len) {
            int n = Math.min(len - SUN_PATH_OFFSET, SUN_PATH_SIZE); // bytes of sun_path used
            if (n <= 0 || (sun_path[0] == 0 && n == 1)) {
                return "unnamed";
            }
            if (sun_path[0] == 0) {
                return "@" + new String(sun_path, 1, n - 1, StandardCharsets.UTF_8);
            }
            int end = 0;
            while (end < n && sun_path[end] != 0) {
                end++;
            }
            return new String(sun_path, 0, end, StandardCharsets.UTF_8);
        }
    }

    // struct sockaddr_in { sa_family_t sin_family; in_port_t sin_port;
    //                      struct in_addr sin_addr; char sin_zero[8]; } -- 16 bytes.
    // sin_family is in the machine's own byte order; the port and the address are
    // in network byte order (big-endian), so we keep them as the bytes they are on
    // the wire. A raw socket has no ports: sin_port stays 0.
    @Structure.FieldOrder({"sin_family", "sin_port", "sin_addr", "sin_zero"})
    class SockaddrIn extends Structure {
        public short sin_family = AF_INET;
        public byte[] sin_port = new byte[2];
        public byte[] sin_addr = new byte[4];
        public byte[] sin_zero = new byte[8];

        public static SockaddrIn of(byte[] address) {
            SockaddrIn sa = new SockaddrIn();
            System.arraycopy(address, 0, sa.sin_addr, 0, 4);
            return sa;
        }

        // The address in dotted decimal: "127.0.0.1".
        public String address() {
            return format(sin_addr, 0);
        }
    }

    // struct iovec { void *iov_base; size_t iov_len; } -- one piece of a message.
    @Structure.FieldOrder({"iov_base", "iov_len"})
    class Iovec extends Structure {
        public Pointer iov_base;
        public long iov_len;
    }

    // struct msghdr, the argument of sendmsg() and recvmsg() -- 56 bytes:
    //   void *msg_name; socklen_t msg_namelen; (4 bytes of padding)
    //   struct iovec *msg_iov; size_t msg_iovlen;      the data, in pieces
    //   void *msg_control; size_t msg_controllen;      the ancillary data
    //   int msg_flags; (4 bytes of padding)            set by recvmsg()
    // JNA inserts the padding itself, as a C compiler does.
    @Structure.FieldOrder({"msg_name", "msg_namelen", "msg_iov", "msg_iovlen",
            "msg_control", "msg_controllen", "msg_flags"})
    class Msghdr extends Structure {
        public Pointer msg_name;
        public int msg_namelen;
        public Pointer msg_iov;
        public long msg_iovlen;
        public Pointer msg_control;
        public long msg_controllen;
        public int msg_flags;
    }

    // Ancillary ("control") data is a list of messages, each a struct cmsghdr
    //   { size_t cmsg_len; int cmsg_level; int cmsg_type; }   -- 16 bytes
    // followed by its data, padded to a multiple of 8 bytes. For SCM_RIGHTS the data
    // is an array of int file descriptors. With exactly one descriptor the whole
    // control buffer is this struct: 16 + 4 bytes, padded to 24, which is
    // CMSG_SPACE(sizeof(int)); and cmsg_len must be CMSG_LEN(sizeof(int)) = 20:
    // header plus data, without the final padding.
    @Structure.FieldOrder({"cmsg_len", "cmsg_level", "cmsg_type", "cmsg_fd"})
    class CmsgRights extends Structure {
        public long cmsg_len;
        public int cmsg_level;
        public int cmsg_type;
        public int cmsg_fd;
    }

    int CMSGHDR_SIZE = 16;

    // CMSG_LEN(n): the cmsg_len of a control message carrying n bytes of data.
    static long cmsgLen(int dataBytes) {
        return CMSGHDR_SIZE + dataBytes;
    }

    // struct ucred { pid_t pid; uid_t uid; gid_t gid; } -- what SO_PEERCRED returns.
    // uid and gid are unsigned in C: print them with Integer.toUnsignedString.
    @Structure.FieldOrder({"pid", "uid", "gid"})
    class Ucred extends Structure {
        public int pid;
        public int uid;
        public int gid;
    }

    // struct timeval { time_t tv_sec; suseconds_t tv_usec; } -- for SO_RCVTIMEO.
    @Structure.FieldOrder({"tv_sec", "tv_usec"})
    class Timeval extends Structure {
        public long tv_sec;
        public long tv_usec;

        // A duration in nanoseconds, rounded up to whole microseconds and at least
        // one: a timeval of 0 would mean "wait forever".
        public static Timeval ofNanos(long nanos) {
            long micros = Math.max(1, (nanos + 999) / 1000);
            Timeval tv = new Timeval();
            tv.tv_sec = micros / 1_000_000;
            tv.tv_usec = micros % 1_000_000;
            return tv;
        }
    }

    // struct passwd, what getpwnam() points to (48 bytes): the name, password,
    // uid, gid, full name, home and shell. We read only pw_uid and pw_gid; the
    // strings stay Pointers, which JNA does not follow.
    @Structure.FieldOrder({"pw_name", "pw_passwd", "pw_uid", "pw_gid", "pw_gecos",
            "pw_dir", "pw_shell"})
    class Passwd extends Structure {
        public Pointer pw_name;
        public Pointer pw_passwd;
        public int pw_uid;
        public int pw_gid;
        public Pointer pw_gecos;
        public Pointer pw_dir;
        public Pointer pw_shell;
    }

    // ---- Helpers -------------------------------------------------------------------

    // A file descriptor that try-with-resources closes: the socket's or file's
    // number, and close() that is safe to call twice (the servers' shutdown hooks
    // close a socket that the main thread may be closing too).
    final class Fd implements AutoCloseable {
        public final int fd;
        private final AtomicBoolean closed = new AtomicBoolean();

        public Fd(int fd) {
            this.fd = fd;
        }

        // shutdown(SHUT_RDWR), then close(): for the servers' shutdown hooks. On
        // Linux, close() does not wake a thread that is blocked in accept(), recv()
        // or send() on the same socket -- it keeps waiting on the socket it
        // already has. shutdown() does: the blocked call returns at once (accept()
        // fails with EINVAL, recv() returns 0), so that thread can leave its loop.
        // On a socket that is not connected (a raw one, say) shutdown() fails with
        // ENOTCONN, but still marks the socket shut and wakes a waiting recvfrom().
        public void shutdownAndClose() {
            try {
                C.shutdown(fd, SHUT_RDWR);
            } catch (LastErrorException e) {
                // Expected on an unconnected socket, and the wake-up happened anyway.
            }
            close();
        }

        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                try {
                    C.close(fd);
                } catch (LastErrorException e) {
                    // Best effort: the descriptor is gone either way.
                }
            }
        }
    }

    // errno's text: "No such file or directory", "Connection refused", ...
    static String message(LastErrorException e) {
        return C.strerror(e.getErrorCode());
    }

    // A Java string as a C string: its UTF-8 bytes and a terminating NUL.
    static byte[] cString(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        byte[] c = new byte[utf8.length + 1];
        System.arraycopy(utf8, 0, c, 0, utf8.length);
        return c;
    }

    // lstat() the path and look at its file type: true for a socket. lstat, not
    // stat: a symbolic link is itself not a socket, wherever it points.
    // st_mode is the 32-bit field at offset 24 of x86_64's struct stat.
    static boolean isSocket(byte[] cPath) throws LastErrorException {
        byte[] stat = new byte[144];
        C.lstat(cPath, stat);
        int mode = (stat[24] & 0xff) | (stat[25] & 0xff) << 8
                | (stat[26] & 0xff) << 16 | (stat[27] & 0xff) << 24;
        return (mode & S_IFMT) == S_IFSOCK;
    }

    // unlink() that does not mind the file being gone already.
    static void unlinkQuietly(byte[] cPath) {
        try {
            C.unlink(cPath);
        } catch (LastErrorException e) {
            // Best effort: nothing to remove, or nothing we could do about it.
        }
    }

    // The 4 bytes of an IPv4 address at b[off] in dotted decimal, "127.0.0.1" --
    // what inet_ntop() would give.
    static String format(byte[] b, int off) {
        return (b[off] & 0xff) + "." + (b[off + 1] & 0xff) + "."
                + (b[off + 2] & 0xff) + "." + (b[off + 3] & 0xff);
    }

    // A numeric IPv4 address as its 4 bytes, or null if the text is not one.
    static byte[] parseIPv4(String text) {
        byte[] address = new byte[4];
        return C.inet_pton(AF_INET, text, address) == 1 ? address : null;
    }

    // A Java detail of dropping root (chapter 5). The JVM keeps a file of
    // performance counters for tools such as jps and jcmd,
    // /tmp/hsperfdata_<user>/<pid>, made at start-up in a directory that only
    // <user> may write to, and it deletes the file when it exits. Once we have
    // become nobody it is no longer allowed to, and the file would be left behind
    // in /tmp/hsperfdata_root. So, just before the drop, we delete it ourselves:
    // the JVM keeps the memory it mapped from it, and only those tools lose sight
    // of this process. Best effort: there may be no such file
    // (java -XX:-UsePerfData), and nothing depends on it.
    static void removePerfDataFile() {
        try {
            Files.deleteIfExists(Path.of("/tmp",
                    "hsperfdata_" + System.getProperty("user.name"),
                    Long.toString(ProcessHandle.current().pid())));
        } catch (IOException | SecurityException e) {
            // Best effort, as said.
        }
    }
}
