// RawServer.java -- a request/reply server on IP protocol 253, over a raw socket bound to one address.

import com.sun.jna.LastErrorException;
import com.sun.jna.ptr.IntByReference;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

// Below TCP and UDP, IP carries any protocol numbered 0-255: 1 is ICMP, 6 TCP,
// 17 UDP, and 253 and 254 are set aside for experiments (RFC 3692). With a raw
// socket a program can speak such a protocol of its own, with no ports and no
// transport header: the IP payload is our message, and we define it.
//
//   byte 0: type, 1 = request, 2 = reply    byte 1: 0
//   bytes 2-3: identifier, network order    then 0 to 1,400 bytes of payload
//
// This server answers each request with a reply that carries the same identifier
// and payload. Without ports, the only thing that tells its packets from other
// programs' is the address it binds: it receives only packets sent to --host
// (127.53.0.1, say -- all of 127.0.0.0/8 is this machine's loopback).
//
// The calls go to the C library through JNA: the JDK has no raw sockets
// (../unix/Libc.java, the binding chapter 4 shares, says more).
public class RawServer {
    static final String USAGE = "usage: raw_server [--host A]";

    static final int REQUEST = 1;
    static final int REPLY = 2;
    static final int HEADER_SIZE = 4;
    static final int MAX_PAYLOAD = 1400;
    // Room for any IP packet: its total-length field is 16 bits.
    static final int BUF_SIZE = 65536;

    // What the shutdown hook must close, and how the main thread learns it did.
    static volatile Libc.Fd sock;
    static volatile boolean stopping;

    public static void main(String[] args) {
        String host = "127.0.0.1";
        byte[] address = Libc.parseIPv4(host);
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help" -> {
                    System.out.println(USAGE);
                    System.exit(0);
                }
                case "--host" -> {
                    host = value(args, ++i);
                    address = parseHost(host);
                }
                default -> usage((args[i].startsWith("-") ? "unknown option: "
                                                          : "unexpected argument: ") + args[i]);
            }
        }
        checkStdout();

        sock = open(host, address);

        // ANCHOR: stop
        // SIGTERM and SIGINT make the JVM run its shutdown hooks and then exit with
        // status 143 or 130 (128 + the signal number). Our hook shuts down and
        // closes the socket -- shutdown() first, because on Linux close() alone
        // does not wake the main thread from recvfrom() -- and then halt(0) ends
        // the process at once with status 0. Java has no public API to say WHICH
        // signal came, so the log line cannot name it. The hook is registered
        // before READY, so a signal right after READY is handled too.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopping = true;
            System.err.println("raw_server: stopping on a signal");
            sock.shutdownAndClose();
            Runtime.getRuntime().halt(0);
        }));
        // ANCHOR_END: stop

        // ANCHOR: ready
        // getsockname(): the address the socket is bound to, as the kernel has it. A
        // raw socket has no port to report, so the READY line is the address alone.
        Libc.SockaddrIn bound = new Libc.SockaddrIn();
        IntByReference boundLen = new IntByReference(Libc.SOCKADDR_IN_SIZE);
        try {
            Libc.C.getsockname(sock.fd, bound, boundLen);
        } catch (LastErrorException e) {
            fail("getsockname " + host + ": " + Libc.message(e));
        }
        System.out.println("READY " + bound.address());
        System.out.flush();
        // ANCHOR_END: ready

        // ANCHOR: serve
        byte[] buf = new byte[BUF_SIZE];
        byte[] reply = new byte[HEADER_SIZE + MAX_PAYLOAD];
        while (true) {
            Libc.SockaddrIn from = new Libc.SockaddrIn();
            IntByReference fromLen = new IntByReference(Libc.SOCKADDR_IN_SIZE);
            int n;
            try {
                // recvfrom(): the next protocol-253 packet to us, IP header first.
                n = (int) Libc.C.recvfrom(sock.fd, buf, buf.length, 0, from, fromLen);
            } catch (LastErrorException e) {
                if (stopping) {
                    break; // the shutdown hook is ending the process
                }
                if (e.getErrorCode() != Libc.EINTR) { // EINTR: a signal came; try again
                    System.err.println("raw_server: recvfrom: " + Libc.message(e));
                }
                continue;
            }
            int ihl = (buf[0] & 0x0f) * 4; // the IP header's length: IHL 32-bit words
            int len = n - ihl; // our message's
            if (stopping) {
                break; // woken by the shutdown hook's shutdown(), not by a packet
            } else if (n < 20 || len < HEADER_SIZE || buf[ihl] != REQUEST || buf[ihl + 1] != 0
                    || len - HEADER_SIZE > MAX_PAYLOAD) {
                continue; // not a well-formed request: dropped without a word
            }
            String peer = from.address();
            System.err.println("raw_server: " + (len - HEADER_SIZE) + " bytes from " + peer);
            // The reply: type 2, then the request's second byte, identifier and payload.
            reply[0] = REPLY;
            System.arraycopy(buf, ihl + 1, reply, 1, len - 1);
            try {
                // sendto() the sender; the kernel writes the IP header, from our address.
                Libc.C.sendto(sock.fd, reply, len, 0, from, fromLen.getValue());
            } catch (LastErrorException e) {
                if (!stopping) { // one packet's failure is only logged
                    System.err.println("raw_server: " + peer + ": " + Libc.message(e));
                }
            }
        }
        // ANCHOR_END: serve
    }

    // ANCHOR: open
    static Libc.Fd open(String host, byte[] address) {
        Libc.Fd sock = null;
        try {
            // socket(AF_INET, SOCK_RAW, 253): our messages out, whole IP packets in.
            sock = new Libc.Fd(Libc.C.socket(Libc.AF_INET, Libc.SOCK_RAW, Libc.IPPROTO_EXPERIMENT));
            // bind(): an address, no port. Only packets to it arrive; ours leave from it.
            Libc.C.bind(sock.fd, Libc.SockaddrIn.of(address), Libc.SOCKADDR_IN_SIZE);
        } catch (LastErrorException e) {
            if (sock == null && e.getErrorCode() == Libc.EPERM) {
                fail("a raw socket needs CAP_NET_RAW (run as root): " + Libc.message(e));
            }
            fail((sock == null ? "socket" : "bind " + host) + ": " + Libc.message(e));
        }
        dropPrivileges(); // at once, before we read a single packet
        return sock;
    }

    // If root, become "nobody": groups, group, user, in that order; on a failure, exit.
    static void dropPrivileges() {
        if (Libc.C.geteuid() != 0) {
            return; // not root: nothing to give up
        }
        Libc.Passwd nobody = Libc.C.getpwnam("nobody");
        if (nobody == null) {
            fail("getpwnam nobody: no such user");
        }
        Libc.removePerfDataFile(); // root's to delete: a JVM detail, see Libc.java
        String step = "setgroups";
        try {
            // The system calls change only the calling thread's ids; the C library's
            // wrappers make every thread of the process, all of the JVM, follow.
            Libc.C.setgroups(0, null);
            step = "setgid";
            Libc.C.setgid(nobody.pw_gid);
            step = "setuid";
            Libc.C.setuid(nobody.pw_uid);
        } catch (LastErrorException e) {
            fail(step + ": " + Libc.message(e));
        }
    }
    // ANCHOR_END: open

    // A closed stdout (raw_server >&-) is caught before the socket is opened.
    // Java has no fstat(), and the JVM has opened files of its own at start-up:
    // the first took the free descriptor 1, read-only (raw.jar, or its
    // lib/modules). So the question is not whether descriptor 1 is open but
    // whether it may be written, which its open flags in /proc/self/fdinfo/1 say
    // (O_ACCMODE, the low two bits: 0 is O_RDONLY). write(2) on either would fail
    // with EBADF.
    static void checkStdout() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo/1"))) {
                if (line.startsWith("flags:")
                        && (Integer.parseInt(line.substring(6).trim(), 8) & 3) != 0) {
                    return;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // No descriptor 1 at all.
        }
        fail("stdout: Bad file descriptor");
    }

    // halt(), not exit(): once the shutdown hook is registered, exit() would run it,
    // and it would report a signal and end the process with status 0.
    static void fail(String error) {
        System.err.println("raw_server: " + error);
        Runtime.getRuntime().halt(1);
    }

    // A flag's value is the next argument; a flag at the end has none.
    static String value(String[] args, int i) {
        if (i >= args.length) {
            usage(args[i - 1] + " needs a value");
        }
        return args[i];
    }

    // A numeric IPv4 address: a raw socket has no use for a name.
    static byte[] parseHost(String text) {
        byte[] address = Libc.parseIPv4(text);
        if (address == null) {
            usage("bad host: " + text);
        }
        return address;
    }

    static void usage(String problem) {
        System.err.println("raw_server: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
