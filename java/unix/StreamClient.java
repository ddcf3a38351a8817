// StreamClient.java -- a Unix-domain stream echo client: send and receive at once, and half-close.

import com.sun.jna.LastErrorException;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;

// The TCP echo client of chapter 2 over AF_UNIX: the server's address is a path
// (or "@name" in Linux's abstract namespace) instead of a host and a port. The
// calls go to the C library through JNA; Libc.java says why.
public class StreamClient {
    static final String USAGE = "usage: stream_client --path P";
    static final int BUF_SIZE = 64 * 1024;

    public static void main(String[] args) throws InterruptedException {
        String path = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help" -> {
                    System.out.println(USAGE);
                    System.exit(0);
                }
                case "--path" -> path = value(args, ++i);
                default -> {
                    String what = args[i].startsWith("-") ? "unknown option" : "stray argument";
                    usage(what + " " + args[i]);
                }
            }
        }
        if (path == null) {
            usage("--path is required");
        }
        Libc.SockaddrUn addr = null;
        try {
            addr = Libc.SockaddrUn.of(path);
        } catch (IllegalArgumentException e) {
            usage(e.getMessage());
        }

        // try-with-resources closes the socket however we leave this block.
        try (Libc.Fd sock = connect(path, addr)) {
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
        }
        finish(0, null);
    }

    // ANCHOR: connect
    static Libc.Fd connect(String path, Libc.SockaddrUn addr) {
        Libc.Fd sock = null;
        try {
            // socket(AF_UNIX, SOCK_STREAM, 0): a Unix-domain byte stream. Unlike a
            // datagram client, we bind no address of our own: the server answers
            // on this connection, so it never needs to know our name ("unnamed").
            sock = new Libc.Fd(Libc.C.socket(Libc.AF_UNIX, Libc.SOCK_STREAM, 0));
            // connect() with the server's sockaddr_un and its exact length. It fails
            // at once with ENOENT if there is no such file, ECONNREFUSED if the file
            // is there but nobody listens (a stale file), and EACCES if we lack
            // write permission on it.
            Libc.C.connect(sock.fd, addr, addr.length());
            return sock;
        } catch (LastErrorException e) {
            if (sock != null) {
                sock.close();
            }
            finish(1, "connect to " + path + ": " + Libc.message(e));
            return null;
        }
    }
    // ANCHOR_END: connect

    // ANCHOR: send
    // Runs on the sender thread: copy stdin to the socket, then half-close.
    static void send(Libc.Fd sock) {
        byte[] buf = new byte[BUF_SIZE];
        int n;
        try {
            while ((n = System.in.read(buf)) != -1) {
                // send() blocks while the socket's buffer is full (the server reads
                // slowly) and may take fewer bytes than given, so we loop until all n
                // are sent. MSG_NOSIGNAL: a server that has gone is EPIPE ("Broken
                // pipe"), not the signal SIGPIPE.
                int sent = 0;
                while (sent < n) {
                    byte[] rest = sent == 0 ? buf : Arrays.copyOfRange(buf, sent, n);
                    sent += (int) Libc.C.send(sock.fd, rest, n - sent, Libc.MSG_NOSIGNAL);
                }
            }
        } catch (IOException e) {
            finish(1, "read stdin: " + e.getMessage());
        } catch (LastErrorException e) {
            finish(1, "send: " + Libc.message(e));
        }
        try {
            // shutdown(SHUT_WR) sends end-of-file: the server reads 0 and knows no
            // more data is coming, but the socket stays open for reading the rest of
            // the echo. close() here would throw away whatever is still to come.
            Libc.C.shutdown(sock.fd, Libc.SHUT_WR);
        } catch (LastErrorException e) {
            finish(1, "shutdown: " + Libc.message(e));
        }
    }
    // ANCHOR_END: send

    // ANCHOR: receive
    // Runs on the main thread: copy the socket to stdout until the server closes.
    static void receive(Libc.Fd sock, Thread sender) throws InterruptedException {
        byte[] buf = new byte[BUF_SIZE];
        // The raw stdout file: System.out is a PrintStream, which swallows errors,
        // and we want to know if stdout is closed ("Broken pipe").
        OutputStream stdout = new FileOutputStream(FileDescriptor.out);
        try {
            int n;
            // recv() returns 0 once the server has sent everything and closed.
            while ((n = (int) Libc.C.recv(sock.fd, buf, buf.length, 0)) > 0) {
                try {
                    stdout.write(buf, 0, n);
                } catch (IOException e) {
                    finish(1, "write to stdout: " + e.getMessage());
                }
            }
        } catch (LastErrorException e) {
            finish(1, "receive: " + Libc.message(e));
        }
        // End-of-file alone is not success: a server that closes early would look
        // just like one that echoed everything. So we wait for the sender to finish.
        // If its send() fails (the server is gone), the sender reports that through
        // finish() and the program exits 1 without join() ever returning.
        sender.join();
    }
    // ANCHOR_END: receive

    // The only way out of the program. It is synchronized, so when both threads fail
    // at once the first one prints its line and exits, and the second waits here
    // until the process is gone.
    static synchronized void finish(int status, String error) {
        if (error != null) {
            System.err.println("stream_client: " + error);
        }
        System.exit(status);
    }

    static String value(String[] args, int i) {
        if (i >= args.length) {
            usage(args[i - 1] + " needs a value");
        }
        return args[i];
    }

    static void usage(String problem) {
        System.err.println("stream_client: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
