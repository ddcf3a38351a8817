// EchoClient.java -- a TCP echo client: resolve, connect, send and receive at once, and half-close.

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;

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
                default -> {
                    String what = args[i].startsWith("-") ? "unknown option" : "stray argument";
                    usage(what + " " + args[i]);
                }
            }
        }
        if (port == -1) {
            usage("--port is required");
        }

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
            finish(1, "close: " + describe(e));
        }
        finish(0, null);
    }

    // ANCHOR: connect
    static Socket connect(String host, int port) {
        // getAllByName() is Java's getaddrinfo(): "localhost" may give both ::1 and
        // 127.0.0.1, and the server may listen on only one of them, so we try each
        // address in turn and keep the first that connects.
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
            // An unconnected socket; connect() also gives it a local port of the
            // kernel's choosing, so a client never needs to bind().
            Socket sock = new Socket();
            try {
                // connect() does the TCP handshake; it fails at once with
                // "Connection refused" if nobody listens on that port.
                sock.connect(where);
                return sock;
            } catch (IOException e) {
                error = "connect to " + format(where) + ": " + describe(e);
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
        try {
            OutputStream toServer = sock.getOutputStream();
            int n;
            while ((n = System.in.read(buf)) != -1) {
                // write() returns once all n bytes are in the kernel's send buffer;
                // it blocks while that buffer is full (the server reads slowly).
                toServer.write(buf, 0, n);
            }
            // shutdownOutput() is shutdown(SHUT_WR): it sends our FIN, so the server
            // reads end-of-file and knows no more data is coming -- but the socket
            // stays open for reading the rest of the echo. close() here would throw
            // away whatever the server has still to send us.
            sock.shutdownOutput();
        } catch (IOException e) {
            finish(1, "send: " + describe(e));
        }
    }
    // ANCHOR_END: send

    // ANCHOR: receive
    // Runs on the main thread: copy the socket to stdout until the server closes.
    static void receive(Socket sock, Thread sender) throws InterruptedException {
        byte[] buf = new byte[BUF_SIZE];
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
                    finish(1, "write to stdout: " + describe(e));
                }
            }
        } catch (IOException e) {
            finish(1, "receive: " + describe(e));
        }
        // End-of-file alone is not success: a server that closes early would look
        // just like one that echoed everything. So we wait for the sender to finish.
        // If its write() fails ("Broken pipe", "Connection reset": the server is
        // gone), the sender reports that through finish() and the program exits 1
        // without join() ever returning.
        sender.join();
    }
    // ANCHOR_END: receive

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

    static void usage(String problem) {
        System.err.println("echo_client: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
