// DgramClient.java -- a Unix-domain datagram echo client: bind an address of its own, send, wait.

import com.sun.jna.LastErrorException;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

// The UDP echo client of chapter 3 over AF_UNIX, with two differences.
// Unix-domain datagrams are never lost in transit, so there is no resending:
// no reply within the timeout means the server is not answering. And the client
// must bind an address of its own before it sends, because the server replies
// to the address the datagram came from -- and a socket that never bound one
// has none. (A UDP socket gets a port on its first send; a Unix-domain socket
// gets no name unless we give it one.)
//
// The calls go to the C library through JNA: Java 17's JDK has no Unix-domain
// datagram sockets at all (Libc.java says more).
public class DgramClient {
    static final String USAGE = "usage: dgram_client --path P [--timeout S]";
    // The most this example sends or receives in one datagram.
    static final int MAX_PAYLOAD = 65536;

    // The file we bound, for the cleanup hook; null until bind() has created it.
    static volatile byte[] ownFile;

    public static void main(String[] args) {
        String path = null;
        Libc.SockaddrUn server = null;
        String timeoutText = "1"; // as given, for the message when it runs out
        int timeoutMillis = 1000;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help" -> {
                    System.out.println(USAGE);
                    System.exit(0);
                }
                case "--path" -> {
                    path = value(args, ++i);
                    server = parsePath(path);
                }
                case "--timeout" -> {
                    timeoutText = value(args, ++i);
                    timeoutMillis = parseTimeout(timeoutText);
                }
                default -> usage((args[i].startsWith("-") ? "unknown option: "
                                                          : "unexpected argument: ") + args[i]);
            }
        }
        if (path == null) {
            usage("--path is required");
        }
        checkStdout();

        // All of stdin becomes one datagram, so we must have all of it before we
        // create anything -- and it must fit.
        byte[] payload;
        try {
            payload = System.in.readAllBytes();
        } catch (IOException e) {
            finish(1, "stdin: " + e.getMessage());
            return;
        }
        if (payload.length > MAX_PAYLOAD) {
            System.err.println("dgram_client: " + payload.length + " bytes is more than the "
                    + MAX_PAYLOAD + " this example sends");
            System.exit(2);
        }

        // try-with-resources closes the socket however we leave this block.
        try (Libc.Fd sock = bind()) {
            connect(sock, path, server);
            send(sock, path, payload);
            byte[] reply = receive(sock, path, timeoutMillis, timeoutText);
            // The raw stdout file: System.out is a PrintStream, which swallows errors,
            // and we want to know if stdout is closed ("Broken pipe"). An empty reply
            // writes nothing: the echo of an empty datagram is empty output.
            OutputStream stdout = new FileOutputStream(FileDescriptor.out);
            try {
                stdout.write(reply);
            } catch (IOException e) {
                finish(1, "stdout: " + e.getMessage());
            }
        }
        finish(0, null);
    }

    // ANCHOR: bind
    // A socket bound to <dir>/dgram_client.<pid>.sock, where <dir> is $TMPDIR (if set
    // and not empty) or /tmp. The pid makes the name unique among running clients.
    static Libc.Fd bind() {
        String dir = System.getenv("TMPDIR");
        if (dir == null || dir.isEmpty()) {
            dir = "/tmp";
        }
        String own = dir + "/dgram_client." + Libc.C.getpid() + ".sock";
        Libc.SockaddrUn addr = null;
        try {
            addr = Libc.SockaddrUn.of(own);
        } catch (IllegalArgumentException e) {
            finish(1, "bind " + own + ": File name too long"); // as bind() would: ENAMETOOLONG
        }
        Libc.Fd sock = null;
        try {
            // socket(AF_UNIX, SOCK_DGRAM, 0): a Unix-domain datagram socket.
            sock = new Libc.Fd(Libc.C.socket(Libc.AF_UNIX, Libc.SOCK_DGRAM, 0));
            // A file already there is a leftover of an earlier client that had our
            // pid and was killed before it could clean up: nobody else uses a name
            // with our pid in it, so we remove it rather than fail.
            Libc.unlinkQuietly(addr.cPath());
            // bind() creates the socket file, our return address. The server must be
            // allowed to write to it to reply: the usual umask (022) leaves the
            // owner that right, so a server running as the same user can answer.
            Libc.C.bind(sock.fd, addr, addr.length());
        } catch (LastErrorException e) {
            if (sock != null) {
                sock.close();
            }
            finish(1, "bind " + own + ": " + Libc.message(e));
        }
        ownFile = addr.cPath();
        // ANCHOR: cleanup
        // From here on the file must go however the program ends: success, a
        // refused connect, a timeout, a failed write, even Ctrl-C. A shutdown hook
        // does that in Java: the JVM runs it on System.exit() and on SIGTERM and
        // SIGINT alike, and it does not change the exit status.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> Libc.unlinkQuietly(ownFile)));
        // ANCHOR_END: cleanup
        return sock;
    }
    // ANCHOR_END: bind

    // ANCHOR: connect
    static void connect(Libc.Fd sock, String path, Libc.SockaddrUn server) {
        try {
            // connect() on a datagram socket sends nothing: it records the server as
            // our default destination, and from now on the kernel delivers us only
            // datagrams from it. It fails at once if there is no such file (ENOENT)
            // or nobody is bound to it (ECONNREFUSED).
            Libc.C.connect(sock.fd, server, server.length());
        } catch (LastErrorException e) {
            finish(1, "connect to " + path + ": " + Libc.message(e));
        }
    }
    // ANCHOR_END: connect

    // ANCHOR: send
    // Send the whole payload as one datagram: all or nothing, no partial sends. A
    // 0-byte payload is an empty datagram, which is a message too.
    static void send(Libc.Fd sock, String path, byte[] payload) {
        try {
            // send() on a connected socket needs no address. If the server's queue is
            // full it blocks until there is room: nothing is dropped on the way.
            Libc.C.send(sock.fd, payload, payload.length, Libc.MSG_NOSIGNAL);
        } catch (LastErrorException e) {
            finish(1, "send to " + path + ": " + Libc.message(e));
        }
    }
    // ANCHOR_END: send

    // ANCHOR: receive
    // Wait up to the timeout for the echo and return it.
    static byte[] receive(Libc.Fd sock, String path, int timeoutMillis, String timeoutText) {
        // SO_RCVTIMEO, a struct timeval: a recv() that waits this long without a
        // datagram fails with EAGAIN instead of blocking forever.
        Libc.Timeval tv = Libc.Timeval.ofNanos(timeoutMillis * 1_000_000L);
        try {
            Libc.C.setsockopt(sock.fd, Libc.SOL_SOCKET, Libc.SO_RCVTIMEO, tv, tv.size());
        } catch (LastErrorException e) {
            finish(1, "setsockopt SO_RCVTIMEO: " + Libc.message(e));
        }
        byte[] buf = new byte[MAX_PAYLOAD];
        try {
            // One recv() is one whole datagram: the entire echo, never part of it.
            // And only ever the server's: once we are connected to it, the kernel
            // refuses (EPERM) datagrams that anybody else sends us.
            int n = (int) Libc.C.recv(sock.fd, buf, buf.length, 0);
            return Arrays.copyOf(buf, n);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Libc.EAGAIN) {
                finish(1, "no reply from " + path + " within " + timeoutText + " s");
            }
            finish(1, "receive from " + path + ": " + Libc.message(e));
            return null;
        }
    }
    // ANCHOR_END: receive

    // The only way out of the program once it is running: one line or none, then
    // exit -- which runs the cleanup hook that removes our socket file.
    static void finish(int status, String error) {
        if (error != null) {
            System.err.println("dgram_client: " + error);
        }
        System.exit(status);
    }

    // A closed stdout (dgram_client >&-) is caught before any socket is opened, or
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

    // Seconds: digits, optionally a point and more digits ("1", "0.2"; not ".5",
    // "5.", "1e3", "+1", "inf" or "nan", some of which Double.parseDouble would
    // take), more than 0. Returned in milliseconds, rounded up -- a timeout of 0
    // would mean "wait forever" -- and at most Integer.MAX_VALUE (24 days).
    static int parseTimeout(String text) {
        if (!text.matches("[0-9]+(\\.[0-9]+)?") || new BigDecimal(text).signum() == 0) {
            usage("bad timeout: " + text);
        }
        BigDecimal millis = new BigDecimal(text).movePointRight(3);
        return millis.setScale(0, RoundingMode.CEILING)
                .min(BigDecimal.valueOf(Integer.MAX_VALUE)).intValue();
    }

    static void usage(String problem) {
        System.err.println("dgram_client: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
