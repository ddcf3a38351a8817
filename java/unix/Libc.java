// Libc.java -- the C library's socket calls for the Unix-domain examples, through JNA.

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.ptr.IntByReference;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;

// Why this file exists. Java 17's JDK knows one kind of Unix-domain socket: a
// stream socket on a filesystem path (java.net.UnixDomainSocketAddress, with
// SocketChannel and ServerSocketChannel). It has no abstract names, no datagram
// sockets and no descriptor passing (SCM_RIGHTS), and its peer credentials
// (jdk.net.ExtendedSocketOptions.SO_PEERCRED) give the user and group but not
// the pid. So the chapter's Java examples call the C library directly,
// through JNA (Java Native Access; Debian's libjna-java, /usr/share/java/jna.jar),
// for all four kinds -- even the stream one the JDK could do -- so that they all
// look alike, and alike the C listings: socket(), bind(), accept() with the same
// names, arguments and errno values.
//
// How JNA works: we declare a Java interface whose methods have the names and
// argument types of the C functions, and Native.load() returns an object that
// implements it by calling into libc.so.6. Java types stand for C types:
// int for int, long for size_t and ssize_t (64 bits on Linux x86_64), byte[]
// for a buffer (JNA copies it in and back out), a Structure subclass for a
// pointer to a C struct (JNA writes the Java fields into native memory before
// the call and reads them back after it), and IntByReference for an int* that
// the call fills in (socklen_t *addrlen).
//
// Errors: a method that declares "throws LastErrorException" makes JNA clear
// errno before the call and throw if the call set it; getErrorCode() is the
// errno value and message() below turns it into strerror()'s text, such as
// "Connection refused" -- what C's perror() would print.
//
// The constants and struct layouts are those of Linux on x86_64 (the numbers
// come from <sys/socket.h>, <sys/un.h>, <errno.h> and <bits/stat.h>).
public interface Libc extends Library {
    // "c" is the C library itself: JNA loads libc.so.6.
    Libc C = Native.load("c", Libc.class);

    // Address family and socket types: socket(AF_UNIX, SOCK_STREAM or SOCK_DGRAM, 0).
    int AF_UNIX = 1;
    int SOCK_STREAM = 1;
    int SOCK_DGRAM = 2;

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
    int EINTR = 4;
    int EAGAIN = 11;           // also EWOULDBLOCK
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

    // ---- The calls ----------------------------------------------------------------

    int socket(int domain, int type, int protocol) throws LastErrorException;

    int bind(int fd, SockaddrUn addr, int addrlen) throws LastErrorException;

    int listen(int fd, int backlog) throws LastErrorException;

    int accept(int fd, SockaddrUn addr, IntByReference addrlen) throws LastErrorException;

    int connect(int fd, SockaddrUn addr, int addrlen) throws LastErrorException;

    int getsockname(int fd, SockaddrUn addr, IntByReference addrlen) throws LastErrorException;

    long read(int fd, byte[] buf, long count) throws LastErrorException;

    long write(int fd, byte[] buf, long count) throws LastErrorException;

    long send(int fd, byte[] buf, long len, int flags) throws LastErrorException;

    long recv(int fd, byte[] buf, long len, int flags) throws LastErrorException;

    long sendto(int fd, byte[] buf, long len, int flags, SockaddrUn to, int tolen)
            throws LastErrorException;

    long recvfrom(int fd, byte[] buf, long len, int flags, SockaddrUn from,
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
        // IllegalArgumentException, with a message for the usage error, for an
        // empty path, a bare "@" or one that does not fit.
        public static SockaddrUn of(String path) {
            SockaddrUn sa = new SockaddrUn();
            boolean isAbstract = path.startsWith("@");
            byte[] name = (isAbstract ? path.substring(1) : path).getBytes(StandardCharsets.UTF_8);
            if (name.length == 0) {
                throw new IllegalArgumentException(isAbstract
                        ? "an abstract name needs at least one byte after the @"
                        : "the path is empty");
            }
            if (name.length > MAX_PATH_BYTES) {
                throw new IllegalArgumentException((isAbstract ? "the abstract name " : "the path ")
                        + path + " is " + name.length + " bytes, more than the "
                        + MAX_PATH_BYTES + " a sun_path can hold");
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
        public void shutdownAndClose() {
            try {
                C.shutdown(fd, SHUT_RDWR);
            } catch (LastErrorException e) {
                // Best effort: it may not be a socket, or not connected.
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
}
