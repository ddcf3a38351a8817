// EchoServer.java -- a UDP echo server: bind, then send each datagram back to its sender.

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;

// A datagram socket (UDP) has no connections: no listen(), no accept(), no
// handshake and no end-of-file. One socket receives datagrams from anybody, and
// each datagram is a message on its own: one send() on the client is exactly one
// receive() here, never split up and never run together with the next, as the
// bytes of a TCP stream are. What UDP does not give is reliability: a datagram
// may be lost, arrive twice, or overtake an earlier one, and nobody is told.
//
// This listing uses the classic java.net.DatagramSocket and DatagramPacket.
// java.nio.channels.DatagramChannel does the same with ByteBuffers, and can be
// non-blocking and used with a Selector; since Java 15 DatagramSocket is in fact
// built on top of it.
public class EchoServer {
    static final String USAGE = "usage: echo_server [--host H] [--port P]";
    // 64 KiB: more than the largest datagram there is. A UDP length field is 16
    // bits, so a datagram is at most 65,535 bytes including its 8-byte UDP header;
    // over IPv4 the 20-byte IP header counts too, which leaves 65,535 - 20 - 8 =
    // 65,507 bytes of payload (65,527 over IPv6, whose length field leaves out
    // its own header).
    static final int BUF_SIZE = 65536;

    static volatile boolean stopping;

    public static void main(String[] args) {
        String host = "127.0.0.1";
        int port = 0;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help" -> {
                    System.out.println(USAGE);
                    System.exit(0);
                }
                case "--host" -> host = value(args, ++i);
                case "--port" -> port = parsePort(value(args, ++i));
                default -> {
                    String what = args[i].startsWith("-") ? "unknown option" : "stray argument";
                    usage(what + " " + args[i]);
                }
            }
        }

        // try-with-resources closes the socket however we leave this block.
        try (DatagramSocket sock = bind(host, port)) {
            // ANCHOR: stop
            // SIGTERM and SIGINT make the JVM run its shutdown hooks and then exit
            // with status 143 or 130 (128 + the signal number). Our hook closes the
            // socket, which wakes the main thread from receive(), and then halt(0)
            // ends the process at once with status 0: being asked to stop is not a
            // failure. Java has no public API to say WHICH signal came, so the log
            // line cannot name it. We register the hook before READY so a signal
            // that arrives right after READY is handled too.
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                stopping = true;
                closeQuietly(sock);
                System.err.println("echo_server: stopping on a signal");
                Runtime.getRuntime().halt(0);
            }));
            // ANCHOR_END: stop

            // ANCHOR: ready
            // getLocalSocketAddress() is getsockname(): the address and port the kernel
            // actually bound. With --port 0 this is how we learn the port it picked.
            InetSocketAddress bound = (InetSocketAddress) sock.getLocalSocketAddress();
            System.out.println("READY " + format(bound));
            System.out.flush();
            // ANCHOR_END: ready

            // ANCHOR: echo
            // One buffer and one packet, reused for every datagram. A DatagramPacket
            // is the buffer plus an address: receive() fills in the sender's address
            // (what recvfrom() returns), and send() sends to the address the packet
            // holds (what sendto() is given).
            byte[] buf = new byte[BUF_SIZE];
            DatagramPacket packet = new DatagramPacket(buf, buf.length);
            while (true) {
                // receive() sets the packet's length to the size of the datagram, and
                // the next receive() would take no more than that: a 5-byte datagram
                // would cut every later one to 5 bytes. So we hand back the whole
                // buffer each time.
                packet.setLength(buf.length);
                try {
                    // receive() blocks until a datagram arrives -- from anybody -- and
                    // copies it, a whole message, into the buffer. An empty datagram is
                    // a message too: a length of 0 is not end-of-file, as it is on TCP.
                    sock.receive(packet);
                } catch (IOException e) {
                    if (stopping) {
                        break; // the shutdown hook closed the socket; it is ending the process
                    }
                    System.err.println("echo_server: receive: " + describe(e));
                    continue;
                }
                int n = packet.getLength();
                String peer = format((InetSocketAddress) packet.getSocketAddress());
                // A datagram longer than the buffer is cut to fit and the rest is thrown
                // away. C's recvmsg() says so with the MSG_TRUNC flag; Java has no such
                // flag: DatagramPacket truncates silently, and all we can see is a full
                // buffer, which may hold a datagram of exactly that size or the start of
                // a longer one. No datagram can be 65,536 bytes, so a full buffer here
                // can only mean "cut short" -- we say so and drop it rather than echo
                // part of a message.
                if (n == buf.length) {
                    System.err.println("echo_server: " + peer + ": datagram truncated to "
                            + n + " bytes, dropped");
                    continue;
                }
                System.err.println("echo_server: " + n + " bytes from " + peer);
                try {
                    // The packet now holds the datagram and its sender's address, so
                    // sending it as it is echoes it: one datagram of n bytes, back to
                    // where it came from. UDP gives no promise that it arrives.
                    sock.send(packet);
                } catch (IOException e) {
                    // One datagram's failure is only logged; we go on with the next.
                    if (stopping) {
                        break;
                    }
                    System.err.println("echo_server: " + peer + ": " + describe(e));
                }
            }
            // ANCHOR_END: echo
        }
    }

    // ANCHOR: bind
    static DatagramSocket bind(String host, int port) {
        // getAllByName() is Java's getaddrinfo(): a name such as "localhost" may stand
        // for several addresses (::1 and 127.0.0.1), so we try each in turn.
        InetAddress[] addresses;
        try {
            addresses = InetAddress.getAllByName(host);
        } catch (IOException e) {
            System.err.println("echo_server: resolve " + describe(e));
            System.exit(1);
            return null;
        }
        String error = "no address";
        for (InetAddress address : addresses) {
            InetSocketAddress where = new InetSocketAddress(address, port);
            try {
                // new DatagramSocket(address) is socket(SOCK_DGRAM) and bind() in one:
                // it claims the address and port (port 0 means: let the kernel pick a
                // free one). There is nothing to listen() for: once bound, the socket
                // receives every datagram sent to that address and port.
                return new DatagramSocket(where);
            } catch (IOException e) {
                error = "bind " + format(where) + ": " + describe(e);
            }
        }
        System.err.println("echo_server: " + error);
        System.exit(1);
        return null;
    }
    // ANCHOR_END: bind

    // "127.0.0.1:40123" or "[::1]:40123": the address as the kernel reports it.
    static String format(InetSocketAddress sa) {
        InetAddress a = sa.getAddress();
        if (a instanceof Inet6Address) {
            return "[" + compressIPv6(a.getAddress()) + "]:" + sa.getPort();
        }
        return a.getHostAddress() + ":" + sa.getPort();
    }

    // Java writes ::1 as 0:0:0:0:0:0:0:1. This gives the short form of RFC 5952 that
    // C's inet_ntop() gives: lowercase hex, and the longest run of two or more zero
    // groups (the first, on a tie) replaced by "::". The raw bytes carry no %scope.
    static String compressIPv6(byte[] b) {
        int[] group = new int[8];
        for (int i = 0; i < 8; i++) {
            group[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        }
        int bestStart = -1, bestLen = 1; // a single zero group is not shortened
        for (int i = 0; i < 8; i++) {
            int len = 0;
            while (i + len < 8 && group[i + len] == 0) {
                len++;
            }
            if (len > bestLen) {
                bestStart = i;
                bestLen = len;
            }
        }
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                s.append("::");
                i += bestLen - 1;
            } else {
                if (s.length() > 0 && s.charAt(s.length() - 1) != ':') {
                    s.append(':');
                }
                s.append(Integer.toHexString(group[i]));
            }
        }
        return s.toString();
    }

    static String describe(Exception e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            // Best effort: we are giving the socket up either way.
        }
    }

    static String value(String[] args, int i) {
        if (i >= args.length) {
            usage(args[i - 1] + " needs a value");
        }
        return args[i];
    }

    // A decimal number 0-65535; Integer.parseInt alone would also take "+80" or "-0".
    static int parsePort(String text) {
        boolean decimal = !text.isEmpty() && text.length() <= 5;
        for (int i = 0; i < text.length(); i++) {
            decimal &= text.charAt(i) >= '0' && text.charAt(i) <= '9';
        }
        if (!decimal || Integer.parseInt(text) > 65535) {
            usage("bad port " + text);
        }
        return Integer.parseInt(text);
    }

    static void usage(String problem) {
        System.err.println("echo_server: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
