// EchoClient.java -- a UDP echo client: connect, send one datagram, wait with a timeout, resend.

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

// UDP promises nothing: the datagram we send, or the echo, may simply be lost,
// and nobody tells us. So the client cannot wait forever. It waits a while for
// the reply, and when none comes it sends the datagram again, a few times,
// before giving up. (That is safe because echoing twice does no harm; a real
// protocol must also cope with a request that arrives twice.)
//
// This listing uses the classic java.net.DatagramSocket and DatagramPacket;
// java.nio.channels.DatagramChannel does the same with ByteBuffers.
public class EchoClient {
    static final String USAGE =
            "usage: echo_client [--host H] --port P [--timeout S] [--retries N]";
    // The most one datagram can carry over IPv4: 65,535 bytes (the 16-bit length
    // field's limit) minus a 20-byte IP header and an 8-byte UDP header.
    static final int MAX_PAYLOAD = 65507;
    // A receive buffer larger than any datagram, so that no reply is cut short.
    static final int BUF_SIZE = 65536;

    public static void main(String[] args) {
        String host = "127.0.0.1";
        int port = -1;
        int timeoutMillis = 1000;
        int retries = 3;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help" -> {
                    System.out.println(USAGE);
                    System.exit(0);
                }
                case "--host" -> host = value(args, ++i);
                case "--port" -> port = parsePort(value(args, ++i));
                case "--timeout" -> timeoutMillis = parseTimeout(value(args, ++i));
                case "--retries" -> retries = parseRetries(value(args, ++i));
                default -> usage((args[i].startsWith("-") ? "unknown option: "
                                                          : "unexpected argument: ") + args[i]);
            }
        }
        if (port == -1) {
            usage("--port is required");
        }
        checkStdout();

        // All of stdin becomes one datagram, so we must have all of it before we
        // send anything -- and it must fit.
        byte[] payload;
        try {
            payload = System.in.readAllBytes();
        } catch (IOException e) {
            finish(1, "stdin: " + reason(e));
            return;
        }
        if (payload.length > MAX_PAYLOAD) {
            System.err.println("echo_client: " + payload.length + " bytes is more than the "
                    + MAX_PAYLOAD + " a UDP datagram can carry");
            System.exit(2);
        }

        // try-with-resources closes the socket however we leave this block.
        try (DatagramSocket sock = connect(host, port)) {
            InetSocketAddress server = (InetSocketAddress) sock.getRemoteSocketAddress();
            if (payload.length == 0) {
                // A limit of the JDK (since Java 15, when DatagramSocket was rebuilt
                // on DatagramChannel): on a CONNECTED socket, send() of 0 bytes
                // returns without sending anything, so an empty datagram would never
                // leave. An unconnected socket sends it (sendto() with an address), so
                // for an empty payload we disconnect() and do without what connect()
                // gave us: exchange() checks who each reply is from itself, and a
                // port-unreachable error can no longer reach us -- we just time out.
                sock.disconnect();
            }
            byte[] reply = exchange(sock, server, payload, timeoutMillis, retries);
            // The raw stdout file: System.out is a PrintStream, which swallows errors,
            // and we want to know if stdout is closed ("Broken pipe"). An empty reply
            // writes nothing: the echo of an empty datagram is empty output.
            OutputStream stdout = new FileOutputStream(FileDescriptor.out);
            try {
                stdout.write(reply);
            } catch (IOException e) {
                finish(1, "stdout: " + reason(e));
            }
        }
        finish(0, null);
    }

    // ANCHOR: connect
    static DatagramSocket connect(String host, int port) {
        // getAllByName() is Java's getaddrinfo(); we keep the first address that
        // connects (a UDP connect() fails only if there is no route at all).
        InetAddress[] addresses;
        try {
            addresses = InetAddress.getAllByName(host);
        } catch (UnknownHostException e) {
            finish(1, "resolve " + host + ": " + reason(e, host));
            return null;
        }
        String error = "no address";
        for (InetAddress address : addresses) {
            InetSocketAddress where = new InetSocketAddress(address, port);
            DatagramSocket sock = null;
            try {
                // new DatagramSocket() is socket(SOCK_DGRAM), bound to a port of the
                // kernel's choosing. connect() sends nothing: it sets the default
                // destination and filters what receive() gets to the server's
                // datagrams. A port-unreachable error that comes back for a datagram
                // we sent is then thrown at us as a PortUnreachableException.
                sock = new DatagramSocket();
                sock.connect(where);
                return sock;
            } catch (IOException e) {
                error = "connect to " + format(where) + ": " + reason(e);
                if (sock != null) {
                    sock.close();
                }
            }
        }
        finish(1, error);
        return null;
    }
    // ANCHOR_END: connect

    // ANCHOR: send
    // Send the whole payload as one datagram to the server: all or nothing, no
    // loop as on TCP. A 0-byte payload is an empty datagram, a message too. The
    // packet names the server: a connected socket would not need that (it must
    // then be the connected address), but the disconnected one of an empty
    // payload does.
    static void send(DatagramSocket sock, InetSocketAddress server, byte[] payload) {
        try {
            sock.send(new DatagramPacket(payload, payload.length, server));
        } catch (IOException e) {
            // A port unreachable left over from an earlier attempt can show up here.
            finish(1, "send to " + format(server) + ": " + reason(e));
        }
    }
    // ANCHOR_END: send

    // ANCHOR: receive
    // Send the payload and wait for the echo, resending after each timeout. Returns
    // the reply; runs out of attempts with exit status 1.
    static byte[] exchange(DatagramSocket sock, InetSocketAddress server, byte[] payload,
                           int timeoutMillis, int retries) {
        byte[] buf = new byte[BUF_SIZE];
        DatagramPacket reply = new DatagramPacket(buf, buf.length);
        long attempts = (long) retries + 1;
        for (long attempt = 1; attempt <= attempts; attempt++) {
            send(sock, server, payload);
            long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
            try {
                while (true) {
                    // setSoTimeout() is SO_RCVTIMEO: receive() waits at most this many
                    // milliseconds, then throws SocketTimeoutException. (0 is forever.)
                    long left = (deadline - System.nanoTime() + 999_999) / 1_000_000;
                    if (left <= 0) {
                        throw new SocketTimeoutException();
                    }
                    sock.setSoTimeout((int) left);
                    reply.setLength(buf.length); // the whole buffer, as on the server
                    sock.receive(reply);
                    // The disconnected socket of an empty payload takes datagrams from
                    // anybody: we check the sender, as the kernel does for a connected
                    // one, and wait on for the rest of the timeout.
                    if (reply.getSocketAddress().equals(server)) {
                        return Arrays.copyOf(buf, reply.getLength());
                    }
                }
            } catch (SocketTimeoutException e) {
                // Nothing in time: send again. A late echo of an earlier attempt will do.
            } catch (IOException e) {
                // PortUnreachableException: nobody is there, waiting is pointless.
                finish(1, "receive from " + format(server) + ": " + reason(e));
            }
        }
        finish(1, "no reply from " + format(server) + " after " + attempts
                + (attempts == 1 ? " attempt" : " attempts"));
        return null;
    }
    // ANCHOR_END: receive

    // The only way out of the program once it is running: one line or none, then exit.
    static void finish(int status, String error) {
        if (error != null) {
            System.err.println("echo_client: " + error);
        }
        System.exit(status);
    }

    // "127.0.0.1:7" or "[::1]:7". Java writes ::1 as 0:0:0:0:0:0:0:1; compressIPv6 is
    // the same helper as in EchoServer.java (RFC 5952, like C's inet_ntop()).
    static String format(InetSocketAddress sa) {
        InetAddress a = sa.getAddress();
        if (a instanceof Inet6Address) {
            return "[" + compressIPv6(a.getAddress()) + "]:" + sa.getPort();
        }
        return a.getHostAddress() + ":" + sa.getPort();
    }

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

    // A closed stdout (echo_client >&-) is caught before any socket is opened, or
    // the socket could become descriptor 1. Java has no fstat(), and the JVM has
    // opened files of its own at start-up: the first took the free descriptor 1,
    // read-only (its lib/modules). So the question is not whether descriptor 1 is
    // open but whether it may be written, which its open flags in
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
        finish(1, "stdout: Bad file descriptor");
    }

    // A flag's value is the next argument; a flag at the end has none.
    static String value(String[] args, int i) {
        if (i >= args.length) {
            usage(args[i - 1] + " needs a value");
        }
        return args[i];
    }

    // Digits only (Integer.parseInt would also take "+80" or "-0"), 1-65535.
    static int parsePort(String text) {
        if (!text.matches("[0-9]+") || new BigInteger(text).signum() == 0
                || new BigInteger(text).compareTo(BigInteger.valueOf(65535)) > 0) {
            usage("bad port: " + text);
        }
        return Integer.parseInt(text);
    }

    // Seconds: digits, optionally a point and more digits ("1", "0.2"; not ".5",
    // "5.", "1e3", "+1", "inf" or "nan", some of which Double.parseDouble would
    // take), more than 0. Returned in milliseconds, the unit of setSoTimeout(),
    // rounded up -- a timeout of 0 would mean "wait forever" -- and at most
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
        System.err.println("echo_client: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
