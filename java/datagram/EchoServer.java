// EchoServer.java -- a UDP echo server: bind, then send each datagram back to its sender.

import java.io.IOException;
import java.math.BigInteger;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;

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
                default -> usage((args[i].startsWith("-") ? "unknown option: "
                                                          : "unexpected argument: ") + args[i]);
            }
        }
        checkStdout();

        // try-with-resources closes the socket however we leave this block.
        try (DatagramSocket sock = bind(host, port)) {
            // ANCHOR: stop
            // SIGTERM and SIGINT make the JVM run its shutdown hooks and then exit
            // with status 143 or 130 (128 + the signal number). Our hook closes the
            // socket, which wakes the main thread from receive(), and then halt(0)
            // ends the process at once with status 0. Java has no public API to say
            // WHICH signal came, so the log line cannot name it. The hook is
            // registered before READY, so a signal right after READY is handled too.
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
            // A DatagramPacket is a buffer and an address: receive() fills in the
            // sender's (what recvfrom() returns), send() sends to the one it holds
            // (what sendto() is given). One packet serves every datagram.
            byte[] buf = new byte[BUF_SIZE];
            DatagramPacket packet = new DatagramPacket(buf, buf.length);
            while (true) {
                // receive() shrinks the packet's length to the datagram's, and takes
                // no more than that next time: give it the whole buffer back.
                packet.setLength(buf.length);
                try {
                    sock.receive(packet);
                } catch (IOException e) {
                    if (stopping) {
                        break; // the shutdown hook closed the socket; it is ending the process
                    }
                    System.err.println("echo_server: receive: " + reason(e));
                    continue;
                }
                int n = packet.getLength();
                String peer = format((InetSocketAddress) packet.getSocketAddress());
                // Java truncates a datagram that does not fit without a word (no
                // MSG_TRUNC). No datagram is 65,536 bytes, so a full buffer can only
                // be one cut short: we drop it rather than echo part of a message.
                if (n == buf.length) {
                    System.err.println("echo_server: " + peer + ": datagram truncated to "
                            + n + " bytes, dropped");
                    continue;
                }
                System.err.println("echo_server: " + n + " bytes from " + peer);
                try {
                    sock.send(packet); // the same bytes, back to their sender
                } catch (IOException e) {
                    if (stopping) {
                        break;
                    }
                    System.err.println("echo_server: " + peer + ": " + reason(e));
                }
            }
            // ANCHOR_END: echo
        }
    }

    // ANCHOR: bind
    static DatagramSocket bind(String host, int port) {
        // getAllByName() is Java's getaddrinfo(); we bind the first address that works.
        InetAddress[] addresses;
        try {
            addresses = InetAddress.getAllByName(host);
        } catch (UnknownHostException e) {
            System.err.println("echo_server: resolve " + host + ": " + reason(e, host));
            System.exit(1);
            return null;
        }
        String error = "no address";
        for (InetAddress address : addresses) {
            InetSocketAddress where = new InetSocketAddress(address, port);
            try {
                // new DatagramSocket(address) is socket(SOCK_DGRAM) and bind() in one.
                // There is nothing to listen() for: once bound, the socket receives
                // every datagram sent to that address and port.
                return new DatagramSocket(where);
            } catch (IOException e) {
                error = "bind " + format(where) + ": " + reason(e);
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

    // The error as C's strerror() spells it, which Java's messages are. A UDP port
    // unreachable comes without one (ECONNREFUSED: "Connection refused"); any
    // other message-less exception is unexpected: EIO's text.
    static String reason(IOException e) {
        if (e instanceof PortUnreachableException) {
            return "Connection refused";
        }
        return e.getMessage() != null ? e.getMessage() : "Input/output error";
    }

    // gai_strerror()'s text. An UnknownHostException's message puts the host in
    // front of it: "nosuch.invalid: Name or service not known".
    static String reason(UnknownHostException e, String host) {
        String m = e.getMessage() == null ? "" : e.getMessage();
        return m.startsWith(host + ": ") ? m.substring(host.length() + 2) : m;
    }

    // A closed stdout (echo_server >&-) is caught before any socket is opened. Java
    // has no fstat(), and the JVM has opened files of its own at start-up: the
    // first took the free descriptor 1, read-only (its lib/modules). So the
    // question is not whether descriptor 1 is open but whether it may be written,
    // which its open flags in /proc/self/fdinfo/1 say (O_ACCMODE, the low two
    // bits: 0 is O_RDONLY). write(2) on either would fail with EBADF.
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
        System.err.println("echo_server: stdout: Bad file descriptor");
        System.exit(1);
    }

    static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            // Best effort: we are giving the socket up either way.
        }
    }

    // A flag's value is the next argument; a flag at the end has none.
    static String value(String[] args, int i) {
        if (i >= args.length) {
            usage(args[i - 1] + " needs a value");
        }
        return args[i];
    }

    // Digits only (Integer.parseInt would also take "+80" or "-0"), 0-65535.
    static int parsePort(String text) {
        if (!text.matches("[0-9]+")
                || new BigInteger(text).compareTo(BigInteger.valueOf(65535)) > 0) {
            usage("bad port: " + text);
        }
        return Integer.parseInt(text);
    }

    static void usage(String problem) {
        System.err.println("echo_server: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
