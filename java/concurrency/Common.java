// Common.java -- what every chapter 6 server shares: flags, the listening channel, READY, peers, logs, the stop.

import java.io.IOException;
import java.math.BigInteger;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

// The three servers use java.nio's channels, not chapter 2's Socket streams, so
// that one listener serves them all: ThreadServer and PoolServer use it in
// blocking mode, SelectServer switches it to non-blocking. Descriptors: the
// JVM raises its soft RLIMIT_NOFILE to the hard limit at start-up by itself
// (-XX:+MaxFDLimit, on by default), so there is no setrlimit() to call here.
final class Common {
    static String prog;                // "thread_server", ...: the name in every message
    static volatile boolean stopping;  // set by the shutdown hook, before it closes anything

    // ANCHOR: listen
    // Reads --host and --port, then binds the first address of --host that works,
    // with SO_REUSEADDR, and listens. A server that cannot start exits 1.
    static ServerSocketChannel listen(String name, String[] args) {
        prog = name;
        InetSocketAddress[] where = parse(args);
        String error = "no address";
        for (InetSocketAddress address : where) {
            ServerSocketChannel listener = null;
            try {
                // open() is socket(); the option must be set before bind().
                listener = ServerSocketChannel.open();
                listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
                // bind() is bind() and listen(): 1024 connections may wait in the
                // kernel's queue for accept() (a burst of 1,000 clients fits).
                listener.bind(address, 1024);
                return listener;
            } catch (IOException e) {
                error = "bind " + format(address) + ": " + reason(e);
                closeQuietly(listener);
            }
        }
        fail(error);
        return null;
    }
    // ANCHOR_END: listen

    // ANCHOR: ready
    // getLocalSocketAddress() is getsockname(): with --port 0, the port the kernel
    // picked. (socket() is the channel's ServerSocket view.)
    static void ready(ServerSocketChannel listener) {
        InetSocketAddress bound = (InetSocketAddress) listener.socket().getLocalSocketAddress();
        System.out.println("READY " + format(bound));
        System.out.flush();
    }
    // ANCHOR_END: ready

    // ANCHOR: stop
    // SIGTERM and SIGINT make the JVM run its shutdown hooks and then exit with
    // status 143 or 130; it has no public API to say which signal came. Our hook
    // runs `close` (the listener, the connections: whatever wakes this server's
    // main thread), lets main finish for up to half a second, logs the stop line,
    // and ends the process with halt(0), the status the contract asks for. Every
    // thread the server started ends with it.
    static void onStop(Runnable close) {
        Thread main = Thread.currentThread();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopping = true;
            close.run();
            try {
                main.join(500);
            } catch (InterruptedException e) {
                // Stop waiting; we are ending the process anyway.
            }
            // halt() under the log's lock: no other thread's line comes after this one.
            synchronized (Common.class) {
                log("stopping on a signal");
                Runtime.getRuntime().halt(0);
            }
        }));
    }
    // ANCHOR_END: stop

    // ANCHOR: log
    // One line on stderr, written whole: one thread at a time (synchronized locks
    // Common.class), and System.err flushes once per line, in one write().
    static synchronized void log(String line) {
        System.err.println(prog + ": " + line);
    }
    // ANCHOR_END: log

    // After a failed accept() (out of descriptors: "Too many open files") the
    // pending connection is still there, and accept() would fail again at once:
    // wait a little, so that the server does not spin at full speed.
    static void pause() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // The client's address, formatted like the READY line.
    static String peer(SocketChannel conn) {
        return format((InetSocketAddress) conn.socket().getRemoteSocketAddress());
    }

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

    // --host H (default 127.0.0.1) and --port P (default 0), with section 3.1's
    // words for what is wrong; --host resolved with getAllByName(), Java's
    // getaddrinfo(). Also checks stdout, before any socket is opened.
    static InetSocketAddress[] parse(String[] args) {
        String host = "127.0.0.1";
        int port = 0;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help" -> {
                    System.out.println(usage());
                    System.exit(0);
                }
                case "--host" -> host = value(args, ++i);
                case "--port" -> port = parsePort(value(args, ++i));
                default -> usage((args[i].startsWith("-") ? "unknown option: "
                                                          : "unexpected argument: ") + args[i]);
            }
        }
        checkStdout();
        try {
            InetAddress[] addresses = InetAddress.getAllByName(host);
            InetSocketAddress[] where = new InetSocketAddress[addresses.length];
            for (int i = 0; i < addresses.length; i++) {
                where[i] = new InetSocketAddress(addresses[i], port);
            }
            return where;
        } catch (UnknownHostException e) {
            // gai_strerror()'s text comes after the host: "nosuch.invalid: Name or
            // service not known".
            String m = e.getMessage() == null ? "" : e.getMessage();
            fail("resolve " + host + ": "
                    + (m.startsWith(host + ": ") ? m.substring(host.length() + 2) : m));
            return null;
        }
    }

    // A closed stdout (thread_server >&-) is caught before any socket is opened.
    // Java has no fstat(), and the JVM has opened files of its own at start-up:
    // the first took the free descriptor 1, read-only (its lib/modules). So the
    // question is whether descriptor 1 may be written, which its open flags in
    // /proc/self/fdinfo/1 say (O_ACCMODE, the low two bits: 0 is O_RDONLY).
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

    static String usage() {
        return "usage: " + prog + " [--host H] [--port P]";
    }

    static void usage(String problem) {
        System.err.println(prog + ": " + problem);
        System.err.println(usage());
        System.exit(2);
    }

    // A server that cannot start: one line, exit 1.
    static void fail(String error) {
        log(error);
        System.exit(1);
    }
}
