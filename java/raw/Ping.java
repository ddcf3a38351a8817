// Ping.java -- ping over a raw ICMP socket: build each echo request and its checksum by hand.

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

// ping(8) in miniature. ICMP is the IP layer's own messaging protocol: error
// reports ("port unreachable") and the echo request and reply that ping uses.
// It has no ports, so there is no ICMP socket in the usual sense: we open a
// RAW socket for protocol 1 (ICMP), write every byte of the ICMP message
// ourselves -- type, code, checksum, identifier, sequence number, payload --
// and get back whole IP packets, header and all. The kernel of the host we ping
// answers an echo request by itself; no program runs there.
//
// The calls go to the C library through JNA: the JDK has no raw sockets
// (../unix/Libc.java, the binding chapter 4 shares, says more). This Java
// version does IPv4 only; ICMPv6 (ping --host ::1) is left to the C and Python
// listings.
public class Ping {
    static final String USAGE = "usage: ping --host H [--count N] [--timeout S]";

    static final int ECHO_REQUEST = 8; // ICMP type of a request
    static final int ECHO_REPLY = 0;   // ICMP type of the reply
    // An echo message: an 8-byte header, then 56 bytes of payload -- the 8-byte
    // send time and 48 filler bytes 0x20 to 0x4f -- 64 bytes, as ping(8) sends.
    static final int HEADER_SIZE = 8;
    static final int TIME_SIZE = 8;
    static final int PAYLOAD_SIZE = 56;
    // Room for any IP packet: its total-length field is 16 bits.
    static final int BUF_SIZE = 65536;

    // What receive() found: the replying host, the ICMP message's length, and the
    // round trip in nanoseconds.
    record Reply(String from, int bytes, long rttNanos) {
    }

    public static void main(String[] args) {
        String host = null;
        byte[] address = null;
        int count = 3;
        int timeoutMillis = 1000;
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
                case "--count" -> count = parseCount(value(args, ++i));
                case "--timeout" -> timeoutMillis = parseTimeout(value(args, ++i));
                default -> usage((args[i].startsWith("-") ? "unknown option: "
                                                          : "unexpected argument: ") + args[i]);
            }
        }
        if (host == null) {
            usage("--host is required");
        }
        checkStdout();

        // try-with-resources closes the socket however we leave this block.
        int received = 0;
        try (Libc.Fd sock = open()) {
            // The identifier tells our replies from other programs' -- every raw
            // ICMP socket on the host sees them all. ping(8) uses its process id,
            // cut to the 16 bits the field has.
            int id = Libc.C.getpid() & 0xffff;
            Libc.SockaddrIn to = Libc.SockaddrIn.of(address);
            for (int seq = 1; seq <= count; seq++) {
                // The field is 16 bits: after 65,535 requests the number on the wire
                // starts again at 0. We match on that number; we print the count.
                int wireSeq = seq & 0xffff;
                byte[] request = build(id, wireSeq);
                Reply reply = null;
                if (send(sock, to, request)) {
                    reply = receive(sock, id, wireSeq, timeoutMillis);
                }
                if (reply == null) {
                    System.out.println("no reply from " + host + ": seq=" + seq);
                } else {
                    received++;
                    System.out.println("reply from " + reply.from() + ": seq=" + seq
                            + " bytes=" + reply.bytes() + " time="
                            + String.format(Locale.ROOT, "%.3f", reply.rttNanos() / 1e6) + " ms");
                }
                // Unlike ping(8), which waits a second between requests, we send the
                // next one as soon as this one is answered or given up on.
            }
        }
        // Loss in whole percent, rounded down, as ping(8) prints it.
        long loss = (long) (count - received) * 100 / count;
        System.out.println(count + " sent, " + received + " received, " + loss + "% loss");
        // System.out is a PrintStream, which swallows errors: ask it whether a write
        // failed (a closed pipe), which is a failure to do our job.
        if (System.out.checkError()) {
            fail("stdout: write failed");
        }
        System.exit(received == count ? 0 : 1);
    }

    // ANCHOR: open
    static Libc.Fd open() {
        Libc.Fd sock = null;
        try {
            // socket(AF_INET, SOCK_RAW, IPPROTO_ICMP): we write ICMP messages (no
            // IP_HDRINCL) and read back whole IP packets, every ICMP one the host gets.
            sock = new Libc.Fd(Libc.C.socket(Libc.AF_INET, Libc.SOCK_RAW, Libc.IPPROTO_ICMP));
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Libc.EPERM) {
                fail("a raw socket needs CAP_NET_RAW (run as root): " + Libc.message(e));
            }
            fail("socket: " + Libc.message(e));
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

    // ANCHOR: build
    // The echo request, 64 bytes, every 16-bit field in network byte order
    // (big-endian, most significant byte first):
    //   0: type 8, code 0    2: checksum    4: identifier    6: sequence number
    //   8: the send time, 8 bytes      16: 48 filler bytes 0x20, 0x21, ... 0x4f
    // The host we ping copies the payload into its reply unchanged, so the send
    // time comes back to us and the reply alone tells its round-trip time.
    static byte[] build(int id, int seq) {
        byte[] msg = new byte[HEADER_SIZE + PAYLOAD_SIZE];
        msg[0] = ECHO_REQUEST;
        msg[1] = 0; // code: always 0 for an echo
        // msg[2..3], the checksum, stays 0 until it is computed below.
        putShort(msg, 4, id);
        putShort(msg, 6, seq);
        // System.nanoTime() reads a monotonic clock (CLOCK_MONOTONIC on Linux): it
        // never jumps when somebody sets the time of day. Its zero means nothing,
        // so only a difference of two readings is a duration.
        long now = System.nanoTime();
        for (int i = 0; i < TIME_SIZE; i++) {
            msg[HEADER_SIZE + i] = (byte) (now >>> (56 - 8 * i));
        }
        for (int i = 0; i < PAYLOAD_SIZE - TIME_SIZE; i++) {
            msg[HEADER_SIZE + TIME_SIZE + i] = (byte) (0x20 + i);
        }
        // The checksum covers the whole message with the checksum field at 0.
        putShort(msg, 2, checksum(msg, 0, msg.length));
        return msg;
    }
    // ANCHOR_END: build

    // ANCHOR: checksum
    // The Internet checksum of RFC 1071, which IP, ICMP, UDP and TCP all use:
    //   1. read the bytes as 16-bit big-endian numbers (an odd last byte is the
    //      high byte of one more number, padded with a zero byte);
    //   2. add them up;
    //   3. fold the carries back in: add the bits above 16 to the low 16 bits,
    //      until nothing is above 16 -- one's-complement addition;
    //   4. invert all 16 bits.
    // The receiver runs the same sum over the message INCLUDING the checksum field.
    // A number plus its own inverse is 0xffff, so an intact message sums to 0xffff
    // and this function returns 0 for it; anything else means damage.
    static int checksum(byte[] b, int off, int len) {
        long sum = 0; // a long: 64 KiB of 16-bit words cannot overflow it
        for (int i = 0; i + 1 < len; i += 2) {
            sum += ((b[off + i] & 0xff) << 8) | (b[off + i + 1] & 0xff);
        }
        if (len % 2 == 1) {
            sum += (b[off + len - 1] & 0xff) << 8;
        }
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (int) ~sum & 0xffff;
    }
    // ANCHOR_END: checksum

    // ANCHOR: send
    // Send one request; false (after one line on stderr) if the kernel refuses it,
    // which counts as a request without a reply.
    static boolean send(Libc.Fd sock, Libc.SockaddrIn to, byte[] request) {
        try {
            // sendto() with the destination's address: a raw socket is not connected.
            // The kernel puts an IP header in front (protocol 1, our address as the
            // source, the destination from sockaddr_in) and sends the packet as it
            // is. It does not look inside: the checksum is our job.
            Libc.C.sendto(sock.fd, request, request.length, 0, to, Libc.SOCKADDR_IN_SIZE);
            return true;
        } catch (LastErrorException e) {
            System.err.println("ping: send to " + to.address() + ": " + Libc.message(e));
            return false;
        }
    }
    // ANCHOR_END: send

    // ANCHOR: receive
    // Read packets until the reply to (id, seq) comes, or the timeout runs out: null.
    static Reply receive(Libc.Fd sock, int id, int seq, int timeoutMillis) {
        byte[] buf = new byte[BUF_SIZE];
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            int n;
            try {
                // SO_RCVTIMEO: recvfrom() waits at most what is left of the timeout
                // (set each time round: packets that are not our reply wake us too).
                Libc.Timeval tv = Libc.Timeval.ofNanos(left);
                Libc.C.setsockopt(sock.fd, Libc.SOL_SOCKET, Libc.SO_RCVTIMEO, tv, tv.size());
                // One whole IP packet. Its header names the sender: no address needed.
                n = (int) Libc.C.recvfrom(sock.fd, buf, buf.length, 0, null, null);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == Libc.EAGAIN) {
                    return null; // SO_RCVTIMEO ran out: no reply in time
                } else if (e.getErrorCode() != Libc.EINTR) {
                    fail("recvfrom: " + Libc.message(e));
                }
                continue;
            }
            long arrived = System.nanoTime();
            int ihl = (buf[0] & 0x0f) * 4; // the IP header's length: IHL 32-bit words
            int len = n - ihl; // the ICMP message's
            // Ours: an echo reply with our identifier and sequence number, long
            // enough for the send time, intact (its checksum sums to 0).
            if (n < 20 || len < HEADER_SIZE + TIME_SIZE || (buf[ihl] & 0xff) != ECHO_REPLY
                    || getShort(buf, ihl + 4) != id || getShort(buf, ihl + 6) != seq
                    || checksum(buf, ihl, len) != 0) {
                continue;
            }
            // The sender: the IP header's bytes 12-15. (The time includes JNA's calls.)
            long sent = getLong(buf, ihl + HEADER_SIZE);
            return new Reply(Libc.format(buf, 12), len, arrived - sent);
        }
    }
    // ANCHOR_END: receive

    // Network byte order: the high byte first.
    static void putShort(byte[] b, int off, int value) {
        b[off] = (byte) (value >>> 8);
        b[off + 1] = (byte) value;
    }

    static int getShort(byte[] b, int off) {
        return (b[off] & 0xff) << 8 | (b[off + 1] & 0xff);
    }

    static long getLong(byte[] b, int off) {
        long value = 0;
        for (int i = 0; i < 8; i++) {
            value = (value << 8) | (b[off + i] & 0xff);
        }
        return value;
    }

    // A closed stdout (ping >&-) is caught before the socket is opened, or the
    // socket could become descriptor 1. Java has no fstat(), and the JVM has
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

    static void fail(String error) {
        System.err.println("ping: " + error);
        System.exit(1);
    }

    // A flag's value is the next argument; a flag at the end has none.
    static String value(String[] args, int i) {
        if (i >= args.length) {
            usage(args[i - 1] + " needs a value");
        }
        return args[i];
    }

    // A numeric IPv4 address only: a raw socket has no use for a name, and
    // ping(8)'s name lookup is not what this example is about. IPv6 is a usage
    // error of its own, saying so.
    static byte[] parseHost(String text) {
        byte[] address = Libc.parseIPv4(text);
        if (address == null && text.contains(":")) {
            usage("IPv6 is not supported: " + text + " (the C and Python pings do it)");
        } else if (address == null) {
            usage("bad host: " + text);
        }
        return address;
    }

    // Digits only, at least 1; a huge number is as good as Integer.MAX_VALUE.
    static int parseCount(String text) {
        if (!text.matches("[0-9]+") || new BigInteger(text).signum() == 0) {
            usage("bad count: " + text);
        }
        return new BigInteger(text).min(BigInteger.valueOf(Integer.MAX_VALUE)).intValue();
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

    static void usage(String problem) {
        System.err.println("ping: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
