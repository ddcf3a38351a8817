// RawClient.java -- a request/reply client on IP protocol 253: one raw socket, one identifier, retries.

import com.sun.jna.LastErrorException;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.ThreadLocalRandom;

// The client of raw_server's experimental protocol 253 (RawServer.java shows the
// message layout): it sends stdin as the payload of one request and writes the
// payload of the reply to stdout. Like UDP, IP promises nothing, so the client
// waits a while for the reply and, when none comes, sends the request again, a
// few times, before it gives up.
//
// Unlike a UDP client, it cannot connect() its way to only the server's replies,
// and has no port of its own for them to come to. Its raw socket receives EVERY
// protocol-253 packet on the host: its own request (on loopback that passes
// through this host's receive path too), other clients' requests and replies.
// So the client picks itself out: a reply, from the server's address, with the
// identifier it chose.
//
// The calls go to the C library through JNA: the JDK has no raw sockets
// (../unix/Libc.java, the binding chapter 4 shares, says more).
public class RawClient {
    static final String USAGE = "usage: raw_client --host A [--timeout S] [--retries N]";

    static final int REQUEST = 1;
    static final int REPLY = 2;
    static final int HEADER_SIZE = 4;
    // The protocol's limit, which keeps a message well inside one Ethernet frame
    // (1,500 bytes, less 20 of IP header): no IP fragments to think about.
    static final int MAX_PAYLOAD = 1400;
    // Room for any IP packet: its total-length field is 16 bits.
    static final int BUF_SIZE = 65536;

    public static void main(String[] args) {
        String host = null;
        byte[] address = null;
        int timeoutMillis = 1000;
        int retries = 3;
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
                case "--timeout" -> timeoutMillis = parseTimeout(value(args, ++i));
                case "--retries" -> retries = parseRetries(value(args, ++i));
                default -> usage((args[i].startsWith("-") ? "unknown option: "
                                                          : "unexpected argument: ") + args[i]);
            }
        }
        if (host == null) {
            usage("--host is required");
        }
        checkStdout();

        // try-with-resources closes the socket however we leave this block.
        try (Libc.Fd sock = open()) {
            // Only now, as nobody, do we read our input. All of stdin becomes one
            // message, so we must have all of it before we send anything -- and it
            // must fit.
            byte[] payload;
            try {
                payload = System.in.readAllBytes();
            } catch (IOException e) {
                fail("stdin: " + e.getMessage());
                return;
            }
            if (payload.length > MAX_PAYLOAD) {
                System.err.println("raw_client: " + payload.length + " bytes is more than the "
                        + MAX_PAYLOAD + " a request can carry");
                System.exit(2);
            }
            // A random identifier: two clients running at once see each other's
            // replies, and this is how each knows its own.
            int id = ThreadLocalRandom.current().nextInt(1 << 16);
            byte[] request = new byte[HEADER_SIZE + payload.length];
            request[0] = REQUEST;
            request[1] = 0;
            request[2] = (byte) (id >>> 8); // network byte order: the high byte first
            request[3] = (byte) id;
            System.arraycopy(payload, 0, request, HEADER_SIZE, payload.length);

            byte[] reply = exchange(sock, host, address, id, request, timeoutMillis, retries);
            // The raw stdout file: System.out is a PrintStream, which swallows errors,
            // and we want to know if stdout is closed ("Broken pipe"). An empty reply
            // writes nothing.
            OutputStream stdout = new FileOutputStream(FileDescriptor.out);
            try {
                stdout.write(reply);
            } catch (IOException e) {
                fail("stdout: " + e.getMessage());
            }
        }
        System.exit(0);
    }

    // ANCHOR: open
    static Libc.Fd open() {
        Libc.Fd sock = null;
        try {
            // socket(AF_INET, SOCK_RAW, 253), and no bind(): the kernel picks our
            // source address, and the server replies to whatever that was.
            sock = new Libc.Fd(Libc.C.socket(Libc.AF_INET, Libc.SOCK_RAW, Libc.IPPROTO_EXPERIMENT));
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Libc.EPERM) {
                fail("a raw socket needs CAP_NET_RAW (run as root): " + Libc.message(e));
            }
            fail("socket: " + Libc.message(e));
        }
        dropPrivileges(); // at once, before we read our input or a single packet
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

    // ANCHOR: send
    // Send the request to the server: one IP packet, whole or not at all.
    static void send(Libc.Fd sock, String host, Libc.SockaddrIn to, byte[] request) {
        try {
            // sendto() with the server's address: a raw socket is not connected. The
            // kernel adds the IP header (protocol 253, to the server, from the
            // address it routes us by) and sends the packet as it is.
            Libc.C.sendto(sock.fd, request, request.length, 0, to, Libc.SOCKADDR_IN_SIZE);
        } catch (LastErrorException e) {
            fail("send to " + host + ": " + Libc.message(e));
        }
    }
    // ANCHOR_END: send

    // ANCHOR: receive
    // Send the request, wait for the reply and return its payload; resend on a timeout.
    static byte[] exchange(Libc.Fd sock, String host, byte[] address, int id, byte[] request,
                           int timeoutMillis, int retries) {
        byte[] buf = new byte[BUF_SIZE];
        long attempts = (long) retries + 1;
        for (long attempt = 1; attempt <= attempts; attempt++) {
            send(sock, host, Libc.SockaddrIn.of(address), request);
            long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
            long left;
            while ((left = deadline - System.nanoTime()) > 0) {
                int n;
                try {
                    // SO_RCVTIMEO, to what is left of this attempt's timeout.
                    Libc.Timeval tv = Libc.Timeval.ofNanos(left);
                    Libc.C.setsockopt(sock.fd, Libc.SOL_SOCKET, Libc.SO_RCVTIMEO, tv, tv.size());
                    n = (int) Libc.C.recvfrom(sock.fd, buf, buf.length, 0, null, null);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == Libc.EAGAIN) {
                        break; // SO_RCVTIMEO ran out: send again
                    } else if (e.getErrorCode() != Libc.EINTR) {
                        fail("recvfrom: " + Libc.message(e));
                    }
                    continue;
                }
                int ihl = (buf[0] & 0x0f) * 4; // the IP header's length: IHL 32-bit words
                int len = n - ihl;
                // Ours: a reply (type 2, second byte 0), from the server's address
                // (the IP header's bytes 12-15), with our identifier. A reply to any
                // of our attempts will do: they all carry the same bytes.
                if (n >= 20 && len >= HEADER_SIZE && buf[ihl] == REPLY && buf[ihl + 1] == 0
                        && Arrays.equals(buf, 12, 16, address, 0, 4)
                        && ((buf[ihl + 2] & 0xff) << 8 | (buf[ihl + 3] & 0xff)) == id) {
                    return Arrays.copyOfRange(buf, ihl + HEADER_SIZE, n);
                }
            }
        }
        fail("no reply from " + host + " after " + attempts
                + (attempts == 1 ? " attempt" : " attempts"));
        return null;
    }
    // ANCHOR_END: receive

    // A closed stdout (raw_client >&-) is caught before the socket is opened, or
    // the socket could become descriptor 1. Java has no fstat(), and the JVM has
    // opened files of its own at start-up: the first took the free descriptor 1,
    // read-only (raw.jar, or its lib/modules). So the question is not whether
    // descriptor 1 is open but whether it may be written, which its open flags in
    // /proc/self/fdinfo/1 say (O_ACCMODE, the low two bits: 0 is O_RDONLY).
    // write(2) on either would fail with EBADF, and so we say that.
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

    // The only way out of the program on a failure: one line, then exit 1.
    static void fail(String error) {
        System.err.println("raw_client: " + error);
        System.exit(1);
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

    // Seconds: digits, optionally a point and more digits ("1", "0.2"; not ".5",
    // "5.", "1e3", "+1", "inf" or "nan", some of which Double.parseDouble would
    // take), more than 0. Returned in milliseconds, rounded up, and at most
    // Integer.MAX_VALUE (24 days).
    static int parseTimeout(String text) {
        if (!text.matches("[0-9]+(\\.[0-9]+)?") || new BigDecimal(text).signum() == 0) {
            usage("bad timeout: " + text);
        }
        BigDecimal millis = new BigDecimal(text).movePointRight(3);
        return millis.setScale(0, RoundingMode.CEILING)
                .min(BigDecimal.valueOf(Integer.MAX_VALUE)).intValue();
    }

    // Digits only, from 0; a huge number is as good as Integer.MAX_VALUE.
    static int parseRetries(String text) {
        if (!text.matches("[0-9]+")) {
            usage("bad retries: " + text);
        }
        return new BigInteger(text).min(BigInteger.valueOf(Integer.MAX_VALUE)).intValue();
    }

    static void usage(String problem) {
        System.err.println("raw_client: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
