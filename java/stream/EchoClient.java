// EchoClient.java -- a TCP echo client: resolve, connect, send and receive at once, and half-close.

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;

public class EchoClient {
    static final String USAGE = "usage: echo_client [--host H] --port P";
    static final int BUF_SIZE = 64 * 1024;

    public static void main(String[] args) throws InterruptedException {
        String host = "127.0.0.1";
        int port = -1;
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
        if (port == -1) {
            usage("--port is required");
        }
        checkStdout();

        // try-with-resources closes the socket however we leave this block.
        try (Socket sock = connect(host, port)) {
            // An echo server sends back while it receives. If we wrote all of stdin
            // before reading anything, then with a large input both directions'
            // socket buffers would fill up and both programs would wait forever.
            // So one thread sends while this one receives. receive() waits for it
            // before we claim success; it is a daemon thread only so that it can
            // never keep the JVM alive by itself.
            Thread sender = new Thread(() -> send(sock), "sender");
            sender.setDaemon(true);
            sender.start();
            receive(sock, sender);
        } catch (IOException e) {
            finish(1, "close: " + reason(e));
        }
        finish(0, null);
    }

    // ANCHOR: connect
    static Socket connect(String host, int port) {
        // getAllByName() is Java's getaddrinfo(); we keep the first address that
        // connects.
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
            // new Socket() with no address is socket() alone; connect() does the
            // handshake, and binds it to a port of the kernel's choosing. It throws
            // ConnectException ("Connection refused") if nobody listens there.
            Socket sock = new Socket();
            try {
                sock.connect(where);
                return sock;
            } catch (IOException e) {
                error = "connect to " + format(where) + ": " + reason(e);
                closeQuietly(sock);
            }
        }
        finish(1, error);
        return null;
    }
    // ANCHOR_END: connect

    // ANCHOR: send
    // Runs on the sender thread: copy stdin to the socket, then half-close.
    static void send(Socket sock) {
        byte[] buf = new byte[BUF_SIZE];
        String server = format((InetSocketAddress) sock.getRemoteSocketAddress());
        try {
            OutputStream toServer = sock.getOutputStream();
            int n;
            while ((n = readStdin(buf)) != -1) {
                // write() returns once all n bytes are in the kernel's send buffer;
                // it blocks while that buffer is full (the server reads slowly).
                toServer.write(buf, 0, n);
            }
            // shutdownOutput() is shutdown(SHUT_WR): our FIN. The socket stays open
            // for reading the rest of the echo, which close() would throw away.
            sock.shutdownOutput();
        } catch (IOException e) {
            finish(1, "send to " + server + ": " + reason(e));
        }
    }
    // ANCHOR_END: send

    // ANCHOR: receive
    // Runs on the main thread: copy the socket to stdout until the server closes.
    static void receive(Socket sock, Thread sender) throws InterruptedException {
        byte[] buf = new byte[BUF_SIZE];
        String server = format((InetSocketAddress) sock.getRemoteSocketAddress());
        // The raw stdout file: System.out is a PrintStream, which swallows errors,
        // and we want to know if stdout is closed ("Broken pipe").
        OutputStream stdout = new FileOutputStream(FileDescriptor.out);
        try {
            InputStream fromServer = sock.getInputStream();
            int n;
            // read() returns -1 once the server has sent everything and closed
            // (its FIN); a reset connection throws "Connection reset" instead.
            while ((n = fromServer.read(buf)) != -1) {
                try {
                    stdout.write(buf, 0, n);
                } catch (IOException e) {
                    finish(1, "stdout: " + reason(e));
                }
            }
        } catch (IOException e) {
            finish(1, "receive from " + server + ": " + reason(e));
        }
        // End-of-file alone is not success: a server that closes early would look
        // just like one that echoed everything. So we wait for the sender to finish.
        // If its write() fails ("Broken pipe", "Connection reset": the server is
        // gone), the sender reports that through finish() and the program exits 1
        // without join() ever returning.
        sender.join();
    }
    // ANCHOR_END: receive

    // System.in.read(), with a failure reported as the input's, not the socket's.
    static int readStdin(byte[] buf) {
        try {
            return System.in.read(buf);
        } catch (IOException e) {
            finish(1, "stdin: " + reason(e));
            return -1;
        }
    }

    // The only way out of the program. It is synchronized, so when both threads fail
    // at once (a reset breaks sending and receiving alike) the first one prints its
    // line and exits, and the second waits here until the process is gone.
    static synchronized void finish(int status, String error) {
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

    // Digits only (Integer.parseInt would also take "+80" or "-0"), 1-65535.
    static int parsePort(String text) {
        if (!text.matches("[0-9]+") || new BigInteger(text).signum() == 0
                || new BigInteger(text).compareTo(BigInteger.valueOf(65535)) > 0) {
            usage("bad port: " + text);
        }
        return Integer.parseInt(text);
    }

    static void usage(String problem) {
        System.err.println("echo_client: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
