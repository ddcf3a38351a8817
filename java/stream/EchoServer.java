// EchoServer.java -- a TCP echo server: bind, listen, and accept, serving one client at a time.

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;

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
                default -> usage((args[i].startsWith("-") ? "unknown option: "
                                                          : "unexpected argument: ") + args[i]);
            }
        }
        checkStdout();

        // try-with-resources closes the listening socket however we leave this block.
        try (ServerSocket listener = listen(host, port)) {
            // ANCHOR: stop
            // SIGTERM and SIGINT make the JVM run its shutdown hooks and then exit
            // with status 143 or 130 (128 + the signal number). Our hook closes the
            // sockets, which wakes the main thread from accept() or read(), and then
            // halt(0) ends the process at once with status 0. Java has no public API
            // to say WHICH signal came, so the log line cannot name it. The hook is
            // registered before READY, so a signal right after READY is handled too.
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
                // accept() returns a new Socket for the next client's connection; the
                // try-with-resources closes it however serving that client ends.
                try (Socket conn = listener.accept()) {
                    current = conn;
                    String peer = format((InetSocketAddress) conn.getRemoteSocketAddress());
                    System.err.println("echo_server: connection from " + peer);
                    try {
                        long echoed = echo(conn, buf);
                        System.err.println("echo_server: " + peer + ": closed, " + echoed
                                + " bytes echoed");
                    } catch (IOException e) {
                        // One client's failure (a reset, a vanished peer) is only logged.
                        if (!stopping) {
                            System.err.println("echo_server: " + peer + ": " + reason(e));
                        }
                    }
                } catch (IOException e) {
                    if (stopping) {
                        break; // the shutdown hook closed the listener; it is ending the process
                    }
                    System.err.println("echo_server: accept: " + reason(e));
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
            ServerSocket listener = null;
            try {
                // new ServerSocket() is socket(), left unbound so that SO_REUSEADDR can
                // be set before bind(), the only time it has an effect.
                listener = new ServerSocket();
                listener.setReuseAddress(true);
                // Java's bind() is bind() and listen() in one; 128 is the backlog.
                listener.bind(where, 128);
                return listener;
            } catch (IOException e) {
                error = "bind " + format(where) + ": " + reason(e);
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
        // read() returns whatever has arrived, 1 to buf.length bytes, or -1 at
        // end-of-file: the client has half-closed (or closed).
        while ((n = in.read(buf)) != -1) {
            // Unlike send(2), write() loops until all n bytes are in the kernel's
            // send buffer. A client that reset or vanished makes it throw: the JVM
            // ignores SIGPIPE, so that is an IOException ("Broken pipe").
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

    // The error as C's strerror() spells it. Java's messages are strerror()'s,
    // except that a reset read says "Connection reset" (ECONNRESET is "Connection
    // reset by peer"). A message-less exception is unexpected: EIO's text.
    static String reason(IOException e) {
        String m = e.getMessage();
        if ("Connection reset".equals(m)) {
            return "Connection reset by peer";
        }
        return m != null ? m : "Input/output error";
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
            if (c != null) {
                c.close();
            }
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
