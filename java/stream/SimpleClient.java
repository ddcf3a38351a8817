// SimpleClient.java -- the smallest TCP echo client: connect, send all of stdin, half-close, read the echo.

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.UnknownHostException;

public class SimpleClient {
    static final String USAGE = "usage: simple_client [--host H] --port P";

    public static void main(String[] args) {
        String host = "127.0.0.1";
        int port = 0; // 0: not given
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
                port = -1;
                break;
            }
        }
        if (port <= 0) {
            System.err.println(USAGE);
            System.exit(2);
        }

        String step = "resolve"; // the call under way, named in the error message
        try {
            // ANCHOR: connect
            // getAllByName() is Java's getaddrinfo(); this client takes the first address.
            InetAddress address = InetAddress.getAllByName(host)[0];
            step = "connect";
            // new Socket(address, port) is socket() and connect() in one: it returns
            // once the handshake is done, or throws "Connection refused".
            try (Socket sock = new Socket(address, port)) {
                // ANCHOR_END: connect

                // ANCHOR: send
                // transferTo() reads stdin to its end, writing each chunk to the socket.
                // All of it goes before we read anything back: fine for small inputs.
                step = "send";
                System.in.transferTo(sock.getOutputStream());
                // shutdownOutput() is shutdown(SHUT_WR): our FIN, with the socket still
                // open for reading the echo.
                sock.shutdownOutput();
                // ANCHOR_END: send

                // ANCHOR: receive
                // Copy the socket to stdout until the server closes (end of file). The
                // raw stdout file, not System.out, which would swallow a write error.
                step = "receive";
                sock.getInputStream().transferTo(new FileOutputStream(FileDescriptor.out));
                // ANCHOR_END: receive
            }
        } catch (IOException e) {
            System.err.println("simple_client: " + step + ": " + reason(e));
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
}
