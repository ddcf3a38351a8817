// SimpleServer.java -- the smallest TCP echo server: blocking, one client at a time, no signal handling.

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnknownHostException;

public class SimpleServer {
    static final String USAGE = "usage: simple_server [--host H] [--port P]";

    public static void main(String[] args) {
        String host = "127.0.0.1";
        int port = 0;
        for (int i = 0; i < args.length; i += 2) { // flags come in pairs: --host H, --port P
            String value = i + 1 < args.length ? args[i + 1] : "";
            if (args[i].equals("--help")) {
                System.out.println(USAGE);
                return;
            } else if (args[i].equals("--host") && i + 1 < args.length) {
                host = value;
            } else if (args[i].equals("--port") && value.matches("[0-9]{1,5}")
                    && Integer.parseInt(value) <= 65535) {
                port = Integer.parseInt(value);
            } else {
                System.err.println(USAGE);
                System.exit(2);
            }
        }

        String step = "resolve"; // the call under way, named in the error message
        try {
            // ANCHOR: listen
            // getAllByName() is Java's getaddrinfo(); this server takes the first address.
            InetAddress address = InetAddress.getAllByName(host)[0];
            step = "bind";
            // new ServerSocket() is socket(), not yet bound; try-with-resources closes it.
            try (ServerSocket listener = new ServerSocket()) {
                // On Linux the JDK sets SO_REUSEADDR on every ServerSocket by itself.
                // This first server goes without it, so that the book can show what
                // that costs (a restart fails with "Address already in use"): we turn
                // it off again before bind(), the only time it has an effect.
                listener.setReuseAddress(false);
                // Java's bind() is bind() and listen() in one (with a backlog of 50).
                listener.bind(new InetSocketAddress(address, port));
                // ANCHOR_END: listen

                // ANCHOR: ready
                // getLocalSocketAddress() is getsockname(): with --port 0, the port
                // the kernel picked.
                System.out.println("READY " + format(listener.getLocalSocketAddress()));
                System.out.flush();
                // ANCHOR_END: ready

                // ANCHOR: serve
                byte[] buf = new byte[64 * 1024];
                while (true) {
                    step = "accept";
                    // accept() waits for the next client and returns its own Socket.
                    try (Socket conn = listener.accept()) {
                        step = "echo";
                        InputStream in = conn.getInputStream();
                        OutputStream out = conn.getOutputStream();
                        int n;
                        // read() returns what has arrived, or -1 once the client has
                        // half-closed; write() sends all n bytes before it returns.
                        while ((n = in.read(buf)) != -1) {
                            out.write(buf, 0, n);
                        }
                    } // closing the socket sends our FIN: the client's end of file
                }
                // ANCHOR_END: serve
            }
        } catch (IOException e) {
            System.err.println("simple_server: " + step + ": " + reason(e));
            System.exit(1);
        }
    }

    // C's strerror() text for the error. Java says "Connection reset" for
    // ECONNRESET, and puts the host in front of gai_strerror()'s text.
    static String reason(IOException e) {
        String m = String.valueOf(e.getMessage());
        if (e instanceof UnknownHostException) {
            return m.replaceFirst("^.*?: ", "");
        }
        return m.equals("Connection reset") ? "Connection reset by peer" : m;
    }

    // "127.0.0.1:40123", or "[::1]:40123" as C's inet_ntop() writes it: Java writes
    // 0:0:0:0:0:0:0:1, so the longest run of zero groups (the first, on a tie)
    // becomes "::". Colons on both ends make every group end in one while we look.
    static String format(Object bound) {
        InetSocketAddress sa = (InetSocketAddress) bound;
        String a = sa.getAddress().getHostAddress().replaceFirst("%.*", "");
        if (!a.contains(":")) {
            return a + ":" + sa.getPort();
        }
        a = ":" + a + ":";
        for (String zeros = ":0:0:0:0:0:0:0:0:"; zeros.length() >= 5; zeros = zeros.substring(2)) {
            if (a.contains(zeros)) {
                a = a.replaceFirst(zeros, "::");
                break;
            }
        }
        return "[" + a.replaceAll("^:(?!:)|(?<!:):$", "") + "]:" + sa.getPort();
    }
}
