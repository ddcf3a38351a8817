// EchoClient.java -- a UDP echo client: connect, send one datagram, wait with a timeout, resend.

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;

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
                default -> {
                    String what = args[i].startsWith("-") ? "unknown option" : "stray argument";
                    usage(what + " " + args[i]);
                }
            }
        }
        if (port == -1) {
            usage("--port is required");
        }

        // All of stdin becomes one datagram, so we must have all of it before we
        // send anything -- and it must fit.
        byte[] payload;
        try {
            payload = System.in.readAllBytes();
        } catch (IOException e) {
            finish(1, "read stdin: " + describe(e));
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
                finish(1, "write to stdout: " + describe(e));
            }
        }
        finish(0, null);
    }

    // ANCHOR: connect
    static DatagramSocket connect(String host, int port) {
        // getAllByName() is Java's getaddrinfo(): "localhost" may give both ::1 and
        // 127.0.0.1, so we try each address in turn and keep the first that connects.
        InetAddress[] addresses;
        try {
            addresses = InetAddress.getAllByName(host);
        } catch (IOException e) {
            finish(1, "resolve " + describe(e));
            return null;
        }
        String error = "no address";
        for (InetAddress address : addresses) {
            InetSocketAddress where = new InetSocketAddress(address, port);
            DatagramSocket sock = null;
            try {
                // new DatagramSocket() is socket(SOCK_DGRAM), bound to a port of the
                // kernel's choosing: a client never needs to pick one.
                sock = new DatagramSocket();
                // connect() on a UDP socket sends nothing -- there is no handshake, and
                // it succeeds whether or not anybody is listening. It only records the
                // peer in our kernel: send() needs no address now, and datagrams from
                // any other address are dropped before receive() sees them. It fails
                // only if there is no route to that address at all.
                // It also lets the kernel report errors: if nothing is bound to the
                // server's port, its kernel answers our datagram with an ICMP "port
                // unreachable", which a connected socket turns into ECONNREFUSED --
                // in Java a PortUnreachableException. An unconnected socket never
                // hears of it, and would just wait out its timeouts.
                sock.connect(where);
                return sock;
            } catch (IOException e) {
                error = "connect to " + format(where) + ": " + describe(e);
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
    // Send the whole payload as one datagram to the server. UDP sends it all or
    // nothing: no partial sends, no loop as on TCP. A 0-byte payload is an empty
    // datagram, which is a message too. The packet names the server: a connected
    // socket would not need that (it must then be the connected address), but the
    // disconnected one of an empty payload does.
    static void send(DatagramSocket sock, InetSocketAddress server, byte[] payload) {
        try {
            sock.send(new DatagramPacket(payload, payload.length, server));
        } catch (PortUnreachableException e) {
            // An ICMP error left over from an earlier datagram can show up here too.
            finish(1, "send to " + format(server) + ": Connection refused (port unreachable)");
        } catch (IOException e) {
            finish(1, "send to " + format(server) + ": " + describe(e));
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
                    // milliseconds, then throws SocketTimeoutException instead of
                    // blocking forever. (0 would mean "forever", hence the check.)
                    long left = (deadline - System.nanoTime() + 999_999) / 1_000_000;
                    if (left <= 0) {
                        throw new SocketTimeoutException();
                    }
                    sock.setSoTimeout((int) left);
                    // As on the server, give receive() the whole buffer back each time.
                    reply.setLength(buf.length);
                    // One receive() is one whole datagram: the entire echo, never part
                    // of it, and from a connected socket only ever the server's.
                    sock.receive(reply);
                    // The disconnected socket (an empty payload) takes datagrams from
                    // anybody, so we check the sender ourselves, as the kernel does for
                    // a connected one, and wait on for the rest of the timeout.
                    if (reply.getSocketAddress().equals(server)) {
                        byte[] data = new byte[reply.getLength()];
                        System.arraycopy(buf, 0, data, 0, data.length);
                        return data;
                    }
                }
            } catch (SocketTimeoutException e) {
                // Nothing within the timeout: our datagram or its echo was lost (or
                // the server is slow). Go round and send it again. Should a late echo
                // of an earlier attempt arrive, we take that one: it is the same bytes.
            } catch (PortUnreachableException e) {
                // The ICMP error came back: nobody is there, so waiting is pointless.
                finish(1, "receive from " + format(server)
                        + ": Connection refused (port unreachable)");
            } catch (IOException e) {
                finish(1, "receive from " + format(server) + ": " + describe(e));
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

    static String describe(Exception e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    static String value(String[] args, int i) {
        if (i >= args.length) {
            usage(args[i - 1] + " needs a value");
        }
        return args[i];
    }

    // A decimal number 1-65535; Integer.parseInt alone would also take "+80" or "-0".
    static int parsePort(String text) {
        boolean decimal = !text.isEmpty() && text.length() <= 5;
        for (int i = 0; i < text.length(); i++) {
            decimal &= text.charAt(i) >= '0' && text.charAt(i) <= '9';
        }
        if (!decimal || Integer.parseInt(text) < 1 || Integer.parseInt(text) > 65535) {
            usage("bad port " + text);
        }
        return Integer.parseInt(text);
    }

    // Seconds as a decimal number greater than 0 ("1", "0.2", ".5"), returned in
    // milliseconds, the unit of setSoTimeout(). Double.parseDouble alone would also
    // take "-1", "1e3" or "NaN". We round up, because a timeout of 0 would mean
    // "wait forever", and stop at Integer.MAX_VALUE (24 days).
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
        System.err.println("echo_client: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
