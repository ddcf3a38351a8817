// StreamClient.java -- a Unix-domain stream echo client: send and receive at once, and half-close.

import com.sun.jna.LastErrorException;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

// The TCP echo client of chapter 2 over AF_UNIX: the server's address is a path
// (or "@name" in Linux's abstract namespace) instead of a host and a port. The
// calls go to the C library through JNA; Libc.java says why.
public class StreamClient {
    static final String USAGE = "usage: stream_client --path P";
    static final int BUF_SIZE = 64 * 1024;

    public static void main(String[] args) throws InterruptedException {
        String path = null;
        Libc.SockaddrUn addr = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help" -> {
                    System.out.println(USAGE);
                    System.exit(0);
                }
                case "--path" -> {
                    path = value(args, ++i);
                    addr = parsePath(path);
                }
                default -> usage((args[i].startsWith("-") ? "unknown option: "
                                                          : "unexpected argument: ") + args[i]);
            }
        }
        if (path == null) {
            usage("--path is required");
        }
        checkStdout();

        // try-with-resources closes the socket however we leave this block.
        try (Libc.Fd sock = connect(path, addr)) {
            // An echo server sends back while it receives. If we wrote all of stdin
            // before reading anything, then with a large input both directions'
            // socket buffers would fill up and both programs would wait forever.
            // So one thread sends while this one receives. receive() waits for it
            // before we claim success; it is a daemon thread only so that it can
            // never keep the JVM alive by itself.
            String server = path; // final, as a lambda needs it
            Thread sender = new Thread(() -> send(sock, server), "sender");
            sender.setDaemon(true);
            sender.start();
            receive(sock, path, sender);
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
    static void send(Libc.Fd sock, String path) {
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
            finish(1, "stdin: " + e.getMessage());
        } catch (LastErrorException e) {
            finish(1, "send to " + path + ": " + Libc.message(e));
        }
        try {
            // shutdown(SHUT_WR) sends end-of-file: the server reads 0 and knows no
            // more data is coming, but the socket stays open for reading the rest of
            // the echo. close() here would throw away whatever is still to come.
            Libc.C.shutdown(sock.fd, Libc.SHUT_WR);
        } catch (LastErrorException e) {
            finish(1, "shutdown " + path + ": " + Libc.message(e));
        }
    }
    // ANCHOR_END: send

    // ANCHOR: receive
    // Runs on the main thread: copy the socket to stdout until the server closes.
    static void receive(Libc.Fd sock, String path, Thread sender)
            throws InterruptedException {
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
                    finish(1, "stdout: " + e.getMessage());
                }
            }
        } catch (LastErrorException e) {
            finish(1, "receive from " + path + ": " + Libc.message(e));
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

    // A closed stdout (stream_client >&-) is caught before any socket is opened, or
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

    // --path as a sockaddr_un. It must fit: not empty, not a bare "@", at most
    // 107 bytes; Libc.SockaddrUn.of says which of these a path breaks.
    static Libc.SockaddrUn parsePath(String text) {
        try {
            return Libc.SockaddrUn.of(text);
        } catch (IllegalArgumentException e) {
            usage(e.getMessage());
            return null;
        }
    }

    static void usage(String problem) {
        System.err.println("stream_client: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
