// CredClient.java -- the peer-credentials client: connect, and print what the server learned.

import com.sun.jna.LastErrorException;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;

// The client sends nothing about itself: connect() alone lets the server ask the
// kernel for our pid, uid and gid (SO_PEERCRED). The server writes them back as
// one line, which we print. The calls go to the C library through JNA, as in the
// other examples of the chapter (Libc.java says why).
public class CredClient {
    static final String USAGE = "usage: cred_client --path P";
    static final int BUF_SIZE = 4096;

    public static void main(String[] args) {
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
            receive(sock);
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
    static void receive(Libc.Fd sock) {
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
                    finish(1, "write to stdout: " + e.getMessage());
                }
            }
        } catch (LastErrorException e) {
            finish(1, "receive: " + Libc.message(e));
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

    static String value(String[] args, int i) {
        if (i >= args.length) {
            usage(args[i - 1] + " needs a value");
        }
        return args[i];
    }

    static void usage(String problem) {
        System.err.println("cred_client: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
