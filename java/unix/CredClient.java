// CredClient.java -- the peer-credentials client: connect, and print what the server learned.

import com.sun.jna.LastErrorException;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

// The client sends nothing about itself: connect() alone lets the server ask the
// kernel for our pid, uid and gid (SO_PEERCRED). The server writes them back as
// one line, which we print. The calls go to the C library through JNA, as in the
// other examples of the chapter (Libc.java says why).
public class CredClient {
    static final String USAGE = "usage: cred_client --path P";
    static final int BUF_SIZE = 4096;

    public static void main(String[] args) {
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
            receive(sock, path);
        }
        finish(0, null);
    }

    // ANCHOR: connect
    static Libc.Fd connect(String path, Libc.SockaddrUn addr) {
        Libc.Fd sock = null;
        try {
            // socket(AF_UNIX, SOCK_STREAM, 0) and connect(). At this moment the kernel
            // records our credentials in the connection: the server will see the
            // pid, uid and gid of the process that called connect() -- us.
            sock = new Libc.Fd(Libc.C.socket(Libc.AF_UNIX, Libc.SOCK_STREAM, 0));
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

    // ANCHOR: receive
    // Copy what the server sends to stdout until it closes the connection.
    static void receive(Libc.Fd sock, String path) {
        byte[] buf = new byte[BUF_SIZE];
        // The raw stdout file: System.out is a PrintStream, which swallows errors.
        OutputStream stdout = new FileOutputStream(FileDescriptor.out);
        try {
            int n;
            // recv() returns 0 at end-of-file: the server has said all and closed.
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
    }
    // ANCHOR_END: receive

    // The only way out of the program once it is running: one line or none, then exit.
    static void finish(int status, String error) {
        if (error != null) {
            System.err.println("cred_client: " + error);
        }
        System.exit(status);
    }

    // A closed stdout (cred_client >&-) is caught before any socket is opened, or
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
        System.err.println("cred_client: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
