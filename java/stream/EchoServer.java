// EchoServer.java -- a TCP echo server: bind, listen, and accept, serving one client at a time.

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

public class EchoServer {
    static final String USAGE = "usage: echo_server [--host H] [--port P]";
    static final int BUF_SIZE = 64 * 1024;

    // The client being served right now, so that the signal handler can close it too.
    static volatile Socket current;
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

        // try-with-resources closes the listening socket however we leave this block.
        try (ServerSocket listener = listen(host, port)) {
            // ANCHOR: stop
            // SIGTERM and SIGINT make the JVM run its shutdown hooks and then exit
            // with status 143 or 130 (128 + the signal number). Our hook closes the
            // sockets, which wakes the main thread from accept() or read(), and then
            // halt(0) ends the process at once with status 0: being asked to stop is
            // not a failure. Java has no public API to say WHICH signal came, so the
            // log line cannot name it. We register the hook before READY so a signal
            // that arrives right after READY is handled too.
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                stopping = true;
                closeQuietly(current);
                closeQuietly(listener);
                System.err.println("echo_server: stopping on a signal");
                Runtime.getRuntime().halt(0);
            }));
            // ANCHOR_END: stop

            // ANCHOR: ready
            // getLocalSocketAddress() is getsockname(): the address and port the kernel
            // actually bound. With --port 0 this is how we learn the port it picked.
            InetSocketAddress bound = (InetSocketAddress) listener.getLocalSocketAddress();
            System.out.println("READY " + format(bound));
            System.out.flush();
            // ANCHOR_END: ready

            // ANCHOR: accept
            byte[] buf = new byte[BUF_SIZE];
            while (true) {
                // accept() blocks until a client has completed the TCP handshake, then
                // returns a new socket for that one connection. The listening socket
                // stays open and keeps queueing further clients (up to the backlog).
                try (Socket conn = listener.accept()) {
                    current = conn;
                    String peer = format((InetSocketAddress) conn.getRemoteSocketAddress());
                    System.err.println("echo_server: connection from " + peer);
                    try {
                        long echoed = echo(conn, buf);
                        System.err.println("echo_server: " + peer + ": closed, " + echoed
                                + " bytes echoed");
                    } catch (IOException e) {
                        // One client's failure (a reset, a vanished peer) is only logged;
                        // try-with-resources closes its socket and we serve the next one.
                        if (!stopping) {
                            System.err.println("echo_server: " + peer + ": " + describe(e));
                        }
                    }
                } catch (IOException e) {
                    if (stopping) {
                        break; // the shutdown hook closed the listener; it is ending the process
                    }
                    System.err.println("echo_server: accept: " + describe(e));
                } finally {
                    current = null;
                }
            }
            // ANCHOR_END: accept
        } catch (IOException e) {
            // Only closing the listener can get here, and nothing is left to do.
        }
    }

    // ANCHOR: listen
    static ServerSocket listen(String host, int port) {
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
            ServerSocket listener = null;
            try {
                // An unbound ServerSocket, so that options can be set before bind().
                listener = new ServerSocket();
                // SO_REUSEADDR lets us bind a port that still has connections in
                // TIME_WAIT from a previous run; without it a restarted server fails
                // with "Address already in use" for a minute or so. It must be set
                // before bind() to have any effect.
                listener.setReuseAddress(true);
                // bind() claims the address and port (port 0 means: let the kernel
                // pick a free one); in Java it also calls listen(), which turns the
                // socket into one that accepts connections. 128 is the backlog: how
                // many finished handshakes the kernel queues until we accept() them.
                listener.bind(where, 128);
                return listener;
            } catch (IOException e) {
                error = "bind " + format(where) + ": " + describe(e);
                closeQuietly(listener);
            }
        }
        System.err.println("echo_server: " + error);
        System.exit(1);
        return null;
    }
    // ANCHOR_END: listen

    // ANCHOR: echo
    // Send back every byte the client sends until it half-closes its side, and
    // return how many bytes that was.
    static long echo(Socket conn, byte[] buf) throws IOException {
        InputStream in = conn.getInputStream();
        OutputStream out = conn.getOutputStream();
        long echoed = 0;
        int n;
        // read() blocks until some bytes arrive -- any number from 1 to buf.length,
        // since TCP is a byte stream, not a sequence of messages -- and returns -1 at
        // end-of-file: the client called shutdown(SHUT_WR) or close().
        while ((n = in.read(buf)) != -1) {
            // Unlike send(2), write() loops until all n bytes are in the kernel's
            // send buffer. If the client has reset or vanished it throws instead;
            // the JVM ignores SIGPIPE, so that is an IOException ("Broken pipe").
            out.write(buf, 0, n);
            echoed += n;
        }
        // Returning closes the socket (try-with-resources in the caller), which
        // sends our FIN: the client sees end-of-file after the last echoed byte.
        return echoed;
    }
    // ANCHOR_END: echo

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
            if (c != null) {
                c.close();
            }
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
