// Libc.java -- the C library's raw-socket and privilege calls for the chapter 5 examples, through JNA.

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.ptr.IntByReference;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

// Why this file exists. The JDK has stream and datagram sockets (TCP and UDP),
// but no raw sockets: nothing in java.net or java.nio opens socket(AF_INET,
// SOCK_RAW, protocol), where the program writes the ICMP message or the
// protocol-253 message itself and reads whole IP packets back. Nor can Java
// give up root's privileges: it has no setuid(). So, as in chapter 4, the
// examples call the C library directly through JNA (Java Native Access;
// Debian's libjna-java, /usr/share/java/jna.jar), with the names, arguments and
// errno values of the C listings. (java/unix/Libc.java explains how JNA maps
// Java types onto C types; this binding is the same kind, for other calls.)
//
// Errors: a method that declares "throws LastErrorException" makes JNA clear
// errno before the call and throw if the call set it; getErrorCode() is the
// errno value and message() below turns it into strerror()'s text, such as
// "Operation not permitted" -- what C's perror() would print.
//
// The constants and struct layouts are those of Linux on x86_64 (the numbers
// come from <sys/socket.h>, <netinet/in.h>, <errno.h> and <pwd.h>).
public interface Libc extends Library {
    // "c" is the C library itself: JNA loads libc.so.6.
    Libc C = Native.load("c", Libc.class);

    // socket(AF_INET, SOCK_RAW, protocol): an IPv4 socket that sends and receives
    // whole IP payloads of one protocol -- 1 for ICMP, 253 for the experiments'
    // protocol of RFC 3692 -- with no TCP or UDP, and so no ports, in between.
    int AF_INET = 2;
    int SOCK_RAW = 3;
    int IPPROTO_ICMP = 1;
    int IPPROTO_EXPERIMENT = 253;

    // setsockopt(SOL_SOCKET, SO_RCVTIMEO, struct timeval): how long recvfrom() waits.
    int SOL_SOCKET = 1;
    int SO_RCVTIMEO = 20;

    int SHUT_RDWR = 2;         // shutdown(): no more sending or receiving

    // errno values the examples look at by name.
    int EPERM = 1;             // socket(SOCK_RAW) without CAP_NET_RAW
    int EINTR = 4;             // a signal interrupted the call: make it again
    int EAGAIN = 11;           // recvfrom(): SO_RCVTIMEO ran out (also EWOULDBLOCK)

    // sizeof(struct sockaddr_in)
    int SOCKADDR_IN_SIZE = 16;

    // ---- The calls ----------------------------------------------------------------

    int socket(int domain, int type, int protocol) throws LastErrorException;

    int bind(int fd, SockaddrIn addr, int addrlen) throws LastErrorException;

    int getsockname(int fd, SockaddrIn addr, IntByReference addrlen) throws LastErrorException;

    long sendto(int fd, byte[] buf, long len, int flags, SockaddrIn to, int tolen)
            throws LastErrorException;

    long recvfrom(int fd, byte[] buf, long len, int flags, SockaddrIn from,
                  IntByReference fromlen) throws LastErrorException;

    int setsockopt(int fd, int level, int name, Structure value, int len)
            throws LastErrorException;

    int shutdown(int fd, int how) throws LastErrorException;

    int close(int fd) throws LastErrorException;

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

    int getpid();

    String strerror(int errnum);

    // ---- The structs ---------------------------------------------------------------

    // ANCHOR: sockaddr
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
    // ANCHOR_END: sockaddr

    // struct timeval { time_t tv_sec; suseconds_t tv_usec; } -- for SO_RCVTIMEO.
    @Structure.FieldOrder({"tv_sec", "tv_usec"})
    class Timeval extends Structure {
        public long tv_sec;
        public long tv_usec;
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

    // A file descriptor that try-with-resources closes: the socket's number, and
    // close() that is safe to call twice (the server's shutdown hook closes a
    // socket that the main thread may be closing too).
    final class Fd implements AutoCloseable {
        public final int fd;
        private final AtomicBoolean closed = new AtomicBoolean();

        public Fd(int fd) {
            this.fd = fd;
        }

        // shutdown(SHUT_RDWR), then close(): for the server's shutdown hook. On
        // Linux, close() does not wake a thread that is blocked in recvfrom() on
        // the same socket -- it keeps waiting on the socket it already has.
        // shutdown() does, even on a raw socket, which is never connected: the
        // kernel fails the call with ENOTCONN but still marks the socket shut
        // and wakes the waiting recvfrom(), which returns 0.
        public void shutdownAndClose() {
            try {
                C.shutdown(fd, SHUT_RDWR);
            } catch (LastErrorException e) {
                // Expected (ENOTCONN), and the wake-up happened anyway.
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

    // errno's text: "Operation not permitted", "Network is unreachable", ...
    static String message(LastErrorException e) {
        return C.strerror(e.getErrorCode());
    }

    // A Java detail of dropping root. The JVM keeps a file of performance counters
    // for tools such as jps and jcmd, /tmp/hsperfdata_<user>/<pid>, made at
    // start-up in a directory that only <user> may write to, and it deletes the file
    // when it exits. Once we have become nobody it is no longer allowed to, and
    // the file would be left behind in /tmp/hsperfdata_root. So, just before the
    // drop, we delete it ourselves: the JVM keeps the memory it mapped from it, and
    // only those tools lose sight of this process. Best effort: there may be no
    // such file (java -XX:-UsePerfData), and nothing depends on it.
    static void removePerfDataFile() {
        try {
            Files.deleteIfExists(Path.of("/tmp",
                    "hsperfdata_" + System.getProperty("user.name"),
                    Long.toString(ProcessHandle.current().pid())));
        } catch (IOException | SecurityException e) {
            // Best effort, as said.
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
}
