// RawClient.java -- a request/reply client on IP protocol 253: one raw socket, one identifier, retries.

import com.sun.jna.LastErrorException;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigInteger;
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
// (Libc.java says more).
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
        int timeoutMillis = 1000;
        int retries = 3;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help" -> {
                    System.out.println(USAGE);
                    System.exit(0);
                }
                case "--host" -> host = value(args, ++i);
                case "--timeout" -> timeoutMillis = parseTimeout(value(args, ++i));
                case "--retries" -> retries = parseRetries(value(args, ++i));
                default -> {
                    String what = args[i].startsWith("-") ? "unknown option" : "stray argument";
                    usage(what + " " + args[i]);
                }
            }
        }
        if (host == null) {
            usage("--host is required");
        }
        byte[] address = Libc.parseIPv4(host);
        if (address == null) {
            usage("bad host " + host + " (a numeric IPv4 address)");
        }

        // try-with-resources closes the socket however we leave this block.
        try (Libc.Fd sock = open()) {
            // Only now, as nobody, do we read our input. All of stdin becomes one
            // message, so we must have all of it before we send anything -- and it
            // must fit.
            byte[] payload;
            try {
                payload = System.in.readAllBytes();
            } catch (IOException e) {
                fail("read stdin: " + e.getMessage());
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
                fail("write to stdout: " + e.getMessage());
            }
        }
        System.exit(0);
    }

    // ANCHOR: open
    static Libc.Fd open() {
        Libc.Fd sock = null;
        try {
            // socket(AF_INET, SOCK_RAW, 253): a raw IPv4 socket for protocol 253. We
            // send only our message; the kernel puts the IP header in front (we do
            // not set IP_HDRINCL). We receive whole IP packets, header included: a
            // copy of every protocol-253 packet that reaches this host. We do not
            // bind() it: the kernel picks our source address for each packet, and
            // the server replies to whatever that was. Only a process with
            // CAP_NET_RAW (root has it) may open one; anybody else gets EPERM.
            sock = new Libc.Fd(Libc.C.socket(Libc.AF_INET, Libc.SOCK_RAW,
                    Libc.IPPROTO_EXPERIMENT));
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Libc.EPERM) {
                fail("a raw socket needs CAP_NET_RAW (run as root): " + Libc.message(e));
            }
            fail("socket: " + Libc.message(e));
        }
        // The privilege was needed to open the socket and for nothing after it: an
        // open raw socket goes on working for whoever holds it. So we give root up
        // at once, before we read our input or a single packet.
        dropPrivileges();
        return sock;
    }

    // Become user "nobody" if we are root: the supplementary groups first, then the
    // group, then the user -- in that order, because once we are nobody we are no
    // longer allowed to change our groups. Any failure is fatal: carrying on as
    // root is exactly what this is meant to prevent.
    static void dropPrivileges() {
        if (Libc.C.geteuid() != 0) {
            return; // not root: nothing to give up
        }
        Libc.Passwd nobody = Libc.C.getpwnam("nobody");
        if (nobody == null) {
            fail("drop privileges: there is no user nobody");
        }
        Libc.removePerfDataFile(); // root's to delete: a JVM detail, see Libc.java
        String step = "setgroups";
        try {
            // The JVM runs many threads, and the Linux system calls change only the
            // calling thread's ids; the C library's wrappers make every thread of
            // the process follow, so all of the JVM becomes nobody.
            Libc.C.setgroups(0, null);
            step = "setgid";
            Libc.C.setgid(nobody.pw_gid);
            step = "setuid";
            Libc.C.setuid(nobody.pw_uid);
        } catch (LastErrorException e) {
            fail("drop privileges: " + step + ": " + Libc.message(e));
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
            fail("sendto " + host + ": " + Libc.message(e));
        }
    }
    // ANCHOR_END: send

    // ANCHOR: receive
    // Send the request and wait for its reply, resending after each timeout.
    // Returns the reply's payload; runs out of attempts with exit status 1.
    static byte[] exchange(Libc.Fd sock, String host, byte[] address, int id, byte[] request,
                           int timeoutMillis, int retries) {
        Libc.SockaddrIn server = Libc.SockaddrIn.of(address);
        byte[] buf = new byte[BUF_SIZE];
        long attempts = (long) retries + 1;
        for (long attempt = 1; attempt <= attempts; attempt++) {
            send(sock, host, server, request);
            long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
            while (true) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break; // no reply in time: send again
                }
                setReceiveTimeout(sock, left);
                int n;
                try {
                    // recvfrom() returns one whole IP packet, header first. We pass
                    // NULL for the sender's address: the IP header has it too.
                    n = (int) Libc.C.recvfrom(sock.fd, buf, buf.length, 0, null, null);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == Libc.EAGAIN) {
                        break; // SO_RCVTIMEO ran out: send again
                    }
                    if (e.getErrorCode() == Libc.EINTR) {
                        continue;
                    }
                    fail("recvfrom: " + Libc.message(e));
                    return null;
                }
                // Skip the IP header: the low 4 bits of its first byte, the IHL, are
                // its length in 32-bit words -- 5, that is 20 bytes, unless it has
                // options. Bytes 12-15 of it are the source address.
                if (n < 20) {
                    continue;
                }
                int ihl = (buf[0] & 0x0f) * 4;
                int len = n - ihl;
                // Ours is a reply (type 2, second byte 0), from the server's address,
                // with our identifier. Everything else -- our own request coming back
                // on loopback, other clients' traffic, a late reply to an earlier
                // client -- we pass over and wait on for the rest of the timeout.
                if (len < HEADER_SIZE || buf[ihl] != REPLY || buf[ihl + 1] != 0
                        || !Arrays.equals(buf, 12, 16, address, 0, 4)
                        || ((buf[ihl + 2] & 0xff) << 8 | (buf[ihl + 3] & 0xff)) != id) {
                    continue;
                }
                // A reply to any of our attempts will do: they all carry the same bytes.
                return Arrays.copyOfRange(buf, ihl + HEADER_SIZE, n);
            }
        }
        fail("no reply from " + host + " after " + attempts
                + (attempts == 1 ? " attempt" : " attempts"));
        return null;
    }

    // SO_RCVTIMEO, a struct timeval: a recvfrom() that waits this long without a
    // packet fails with EAGAIN instead of blocking forever. Set before every
    // recvfrom(), to what is left of the timeout, because packets that are not our
    // reply keep waking us. Rounded up to whole microseconds: 0 would mean "forever".
    static void setReceiveTimeout(Libc.Fd sock, long nanos) {
        long micros = Math.max(1, (nanos + 999) / 1000);
        Libc.Timeval tv = new Libc.Timeval();
        tv.tv_sec = micros / 1_000_000;
        tv.tv_usec = micros % 1_000_000;
        try {
            Libc.C.setsockopt(sock.fd, Libc.SOL_SOCKET, Libc.SO_RCVTIMEO, tv, tv.size());
        } catch (LastErrorException e) {
            fail("setsockopt SO_RCVTIMEO: " + Libc.message(e));
        }
    }
    // ANCHOR_END: receive

    // The only way out of the program on a failure: one line, then exit 1.
    static void fail(String error) {
        System.err.println("raw_client: " + error);
        System.exit(1);
    }

    static String value(String[] args, int i) {
        if (i >= args.length) {
            usage(args[i - 1] + " needs a value");
        }
        return args[i];
    }

    // Seconds as a decimal number greater than 0 ("1", "0.2", ".5"), returned in
    // milliseconds. Double.parseDouble alone would also take "-1", "1e3" or "NaN".
    // We round up, and stop at Integer.MAX_VALUE (24 days).
    static int parseTimeout(String text) {
        if (!text.matches("[0-9]+(\\.[0-9]*)?|\\.[0-9]+") || Double.parseDouble(text) <= 0) {
            usage("bad timeout " + text);
        }
        return (int) Math.min(Math.ceil(Double.parseDouble(text) * 1000), Integer.MAX_VALUE);
    }

    // A whole number from 0; a huge one is as good as Integer.MAX_VALUE.
    static int parseRetries(String text) {
        if (!text.matches("[0-9]+")) {
            usage("bad retries " + text);
        }
        return new BigInteger(text).min(BigInteger.valueOf(Integer.MAX_VALUE)).intValue();
    }

    static void usage(String problem) {
        System.err.println("raw_client: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
