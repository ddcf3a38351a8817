// Ping.java -- ping over a raw ICMP socket: build each echo request and its checksum by hand.

import com.sun.jna.LastErrorException;
import java.math.BigInteger;
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
// (Libc.java says more). This Java version does IPv4 only; ICMPv6 (ping --host
// ::1) is left to the C and Python listings.
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
        int count = 3;
        int timeoutMillis = 1000;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help" -> {
                    System.out.println(USAGE);
                    System.exit(0);
                }
                case "--host" -> host = value(args, ++i);
                case "--count" -> count = parseCount(value(args, ++i));
                case "--timeout" -> timeoutMillis = parseTimeout(value(args, ++i));
                default -> {
                    String what = args[i].startsWith("-") ? "unknown option" : "stray argument";
                    usage(what + " " + args[i]);
                }
            }
        }
        if (host == null) {
            usage("--host is required");
        }
        // A numeric address only: a raw socket has no use for a name, and ping(8)'s
        // name lookup is not what this example is about.
        byte[] address = Libc.parseIPv4(host);
        if (address == null) {
            usage("bad host " + host + " (a numeric IPv4 address; IPv6 is in the C"
                    + " and Python examples)");
        }

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
        // failed (stdout closed), which is a failure to do our job.
        if (System.out.checkError()) {
            fail("write to stdout failed");
        }
        System.exit(received == count ? 0 : 1);
    }

    // ANCHOR: open
    static Libc.Fd open() {
        Libc.Fd sock = null;
        try {
            // socket(AF_INET, SOCK_RAW, IPPROTO_ICMP): a raw IPv4 socket for protocol
            // 1. What we send is the IP packet's payload -- the ICMP message; the
            // kernel writes the IP header in front of it (we do not set IP_HDRINCL).
            // What we receive is the whole IP packet, header included: a copy of
            // every ICMP packet that reaches this host, whoever it is for.
            // Because that lets a program see and forge traffic, only a process
            // with CAP_NET_RAW (root has it) may open one; anybody else gets EPERM.
            sock = new Libc.Fd(Libc.C.socket(Libc.AF_INET, Libc.SOCK_RAW, Libc.IPPROTO_ICMP));
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Libc.EPERM) {
                fail("a raw socket needs CAP_NET_RAW (run as root): " + Libc.message(e));
            }
            fail("socket: " + Libc.message(e));
        }
        // The privilege was needed for socket() and for nothing after it: an open
        // raw socket goes on working for whoever holds it. So we give root up at
        // once, before we read a single packet -- whatever bytes arrive from the
        // network are then parsed by an ordinary user, not by root.
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
            System.err.println("ping: sendto " + to.address() + ": " + Libc.message(e));
            return false;
        }
    }
    // ANCHOR_END: send

    // ANCHOR: receive
    // Read packets until the reply to request (id, seq) comes, or the timeout runs
    // out (null).
    static Reply receive(Libc.Fd sock, int id, int seq, int timeoutMillis) {
        byte[] buf = new byte[BUF_SIZE];
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            setReceiveTimeout(sock, left);
            int n;
            try {
                // recvfrom() returns one whole IP packet. It could also fill in the
                // sender's address, but the packet's IP header has that too, so we
                // pass NULL for the address and its length.
                n = (int) Libc.C.recvfrom(sock.fd, buf, buf.length, 0, null, null);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == Libc.EAGAIN) {
                    return null; // SO_RCVTIMEO ran out: no reply in time
                }
                if (e.getErrorCode() == Libc.EINTR) {
                    continue;
                }
                fail("recvfrom: " + Libc.message(e));
                return null;
            }
            long arrived = System.nanoTime();
            // On IPv4 a raw socket hands us the IP header too. Its first byte holds
            // the version (high 4 bits) and the IHL, the header length in 32-bit
            // words (low 4 bits): 5, that is 20 bytes, unless the packet carries IP
            // options. The ICMP message starts right after it.
            if (n < 20) {
                continue;
            }
            int ihl = (buf[0] & 0x0f) * 4;
            int len = n - ihl; // the ICMP message's length
            if (len < HEADER_SIZE + TIME_SIZE) {
                continue; // too short to be a reply to our 64 bytes
            }
            // The socket sees EVERY ICMP packet the host receives: our own requests
            // (on loopback they arrive here as well as at the kernel that answers
            // them), other programs' pings, error reports. Ours is an echo reply
            // with our identifier and the sequence number we are waiting for; a late
            // reply to an earlier request has another sequence number. Everything
            // else we pass over.
            if ((buf[ihl] & 0xff) != ECHO_REPLY || getShort(buf, ihl + 4) != id
                    || getShort(buf, ihl + 6) != seq) {
                continue;
            }
            // Verify the checksum: summed over the whole message, checksum field
            // included, an intact one gives 0. A damaged reply is dropped, as if lost.
            if (checksum(buf, ihl, len) != 0) {
                continue;
            }
            long sent = 0;
            for (int i = 0; i < TIME_SIZE; i++) {
                sent = (sent << 8) | (buf[ihl + HEADER_SIZE + i] & 0xff);
            }
            // The round trip includes Java's own time to call into C and back
            // through JNA: a few milliseconds for the first requests, while the JVM
            // is still warming up, well under one later. ping(8) in C shows the
            // network's share alone: some microseconds on loopback.
            // The sender, as the IP header says it: bytes 12-15 are the source address.
            return new Reply(Libc.format(buf, 12), len, arrived - sent);
        }
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

    // Network byte order: the high byte first.
    static void putShort(byte[] b, int off, int value) {
        b[off] = (byte) (value >>> 8);
        b[off + 1] = (byte) value;
    }

    static int getShort(byte[] b, int off) {
        return (b[off] & 0xff) << 8 | (b[off + 1] & 0xff);
    }

    static void fail(String error) {
        System.err.println("ping: " + error);
        System.exit(1);
    }

    static String value(String[] args, int i) {
        if (i >= args.length) {
            usage(args[i - 1] + " needs a value");
        }
        return args[i];
    }

    // A whole number from 1; a huge one is as good as Integer.MAX_VALUE.
    static int parseCount(String text) {
        if (!text.matches("[0-9]+") || new BigInteger(text).signum() == 0) {
            usage("bad count " + text);
        }
        return new BigInteger(text).min(BigInteger.valueOf(Integer.MAX_VALUE)).intValue();
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

    static void usage(String problem) {
        System.err.println("ping: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
