// CredServer.java -- asking the kernel who is on the other end of a connection: SO_PEERCRED.

import com.sun.jna.LastErrorException;
import com.sun.jna.ptr.IntByReference;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

// Over TCP a server knows only its client's address, and whatever the client
// says about itself. Over a Unix-domain socket both ends are on one machine, so
// the kernel can say which process connected: getsockopt(SO_PEERCRED) returns
// the pid, uid and gid the client had when it called connect(). The client
// cannot forge them. Local daemons (D-Bus, systemd, PostgreSQL's "peer"
// authentication) decide what a client may do this way, with no password.
// This server just tells each client what it learned, and closes.
//
// The calls go to the C library through JNA: Java 17's JDK has SO_PEERCRED only
// as jdk.net.ExtendedSocketOptions.SO_PEERCRED, which names the peer's user and
// group but not its pid (Libc.java says more).
public class CredServer {
    static final String USAGE = "usage: cred_server --path P [--mode M]";

    // What the shutdown hook must clean up: the sockets, and the socket file once
    // we have created it (never for an abstract name, which has no file).
    static volatile Libc.Fd listener;
    static volatile Libc.Fd current;
    static volatile byte[] boundFile;
    static volatile boolean stopping;

    public static void main(String[] args) {
        String path = null;
        Libc.SockaddrUn addr = null;
        int mode = 0600;
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
                case "--mode" -> mode = parseMode(value(args, ++i));
                default -> usage((args[i].startsWith("-") ? "unknown option: "
                                                          : "unexpected argument: ") + args[i]);
            }
        }
        if (path == null) {
            usage("--path is required");
        }
        checkStdout();

        listener = bind(path, addr, mode);

        // ANCHOR: stop
        // SIGTERM and SIGINT make the JVM run its shutdown hooks and then exit with
        // status 143 or 130 (128 + the signal number). Our hook shuts down and
        // closes the sockets -- shutdown() first, because on Linux close() alone
        // does not wake the main thread from accept() -- removes the socket file,
        // and then halt(0) ends the process at once with status 0. Java has no
        // public API to say WHICH signal came, so the log line cannot name it. The
        // hook is registered before READY, so a signal right after READY is handled.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopping = true;
            System.err.println("cred_server: stopping on a signal");
            shutdownAndClose(current);
            shutdownAndClose(listener);
            // unlink() removes the name from the directory; only a file we bound.
            if (boundFile != null) {
                Libc.unlinkQuietly(boundFile);
            }
            Runtime.getRuntime().halt(0);
        }));
        // ANCHOR_END: stop

        // ANCHOR: ready
        // getsockname() is the address the socket is bound to: the path as we gave
        // it to bind(), or "\0name" for an abstract one, which we print as @name.
        Libc.SockaddrUn bound = new Libc.SockaddrUn();
        IntByReference boundLen = new IntByReference(bound.length());
        try {
            Libc.C.getsockname(listener.fd, bound, boundLen);
        } catch (LastErrorException e) {
            fail("getsockname " + path + ": " + Libc.message(e));
        }
        System.out.println("READY " + bound.describe(boundLen.getValue()));
        System.out.flush();
        // ANCHOR_END: ready

        // ANCHOR: accept
        while (true) {
            // accept() returns a socket for the next client, and its address (usually
            // "unnamed": the credentials, not the address, say who it is).
            Libc.SockaddrUn peerAddr = new Libc.SockaddrUn();
            IntByReference peerLen = new IntByReference(peerAddr.length());
            int fd;
            try {
                fd = Libc.C.accept(listener.fd, peerAddr, peerLen);
            } catch (LastErrorException e) {
                if (stopping) {
                    break; // the shutdown hook is ending the process
                }
                if (e.getErrorCode() != Libc.EINTR) { // EINTR: a signal came; try again
                    System.err.println("cred_server: accept: " + Libc.message(e));
                }
                continue;
            }
            // try-with-resources closes the connection however we leave the block.
            try (Libc.Fd conn = new Libc.Fd(fd)) {
                current = conn;
                String peer = peerAddr.describe(peerLen.getValue());
                try {
                    System.err.println("cred_server: " + tellCredentials(conn));
                } catch (LastErrorException e) {
                    if (!stopping) { // one client's failure is only logged
                        System.err.println("cred_server: " + peer + ": " + Libc.message(e));
                    }
                }
            } finally {
                current = null;
            }
        }
        // ANCHOR_END: accept
    }

    // ANCHOR: peercred
    // Ask the kernel for the client's credentials, send them to the client as one
    // line, and return that line (without its newline) for the log.
    static String tellCredentials(Libc.Fd conn) throws LastErrorException {
        // getsockopt(SOL_SOCKET, SO_PEERCRED) fills in a struct ucred -- pid, uid,
        // gid -- recorded by the kernel when the client called connect(); for the
        // client, the same call would give the server's, from its listen(). The
        // length goes in as the room we have and comes back as the bytes filled.
        Libc.Ucred cred = new Libc.Ucred();
        IntByReference len = new IntByReference(cred.size());
        Libc.C.getsockopt(conn.fd, Libc.SOL_SOCKET, Libc.SO_PEERCRED, cred, len);
        // uid_t and gid_t are unsigned 32-bit numbers; Java's int is signed.
        String line = "pid=" + cred.pid + " uid=" + Integer.toUnsignedString(cred.uid)
                + " gid=" + Integer.toUnsignedString(cred.gid);
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.US_ASCII);
        // One short line on a fresh connection: the socket's empty send buffer takes
        // it in one send(). MSG_NOSIGNAL: a client that has gone is EPIPE, not the
        // signal SIGPIPE. Returning closes the connection: the client's end-of-file.
        Libc.C.send(conn.fd, bytes, bytes.length, Libc.MSG_NOSIGNAL);
        return line;
    }
    // ANCHOR_END: peercred

    // ANCHOR: bind
    // Create the listening socket on path, or end the program with one line.
    static Libc.Fd bind(String path, Libc.SockaddrUn addr, int mode) {
        Libc.Fd sock = null;
        String step = "socket"; // the call that failed, for the error message
        try {
            // socket() returns a file descriptor, a small int, which every later
            // call takes; a Libc.Fd holds it and closes it once.
            sock = new Libc.Fd(Libc.C.socket(Libc.AF_UNIX, Libc.SOCK_STREAM, 0));
            // umask() is the whole process's: the old one goes back after bind().
            int oldMask = Libc.C.umask(0077);
            try {
                step = "bind";
                Libc.C.bind(sock.fd, addr, addr.length());
            } catch (LastErrorException e) {
                if (e.getErrorCode() != Libc.EADDRINUSE) {
                    throw e;
                }
                probe(path, addr); // returns only for a stale file
                step = "unlink";
                Libc.C.unlink(addr.cPath());
                step = "bind";
                Libc.C.bind(sock.fd, addr, addr.length());
            } finally {
                Libc.C.umask(oldMask);
            }
            if (!addr.isAbstract()) { // an abstract name has no file to chmod
                boundFile = addr.cPath();
                step = "chmod";
                Libc.C.chmod(boundFile, mode);
            }
            step = "listen";
            Libc.C.listen(sock.fd, 128);
            return sock;
        } catch (LastErrorException e) {
            if (boundFile != null) {
                Libc.unlinkQuietly(boundFile);
            }
            closeQuietly(sock);
            fail(step + " " + path + ": " + Libc.message(e));
            return null;
        }
    }

    // The name is taken (EADDRINUSE). Return if it is a stale socket file, for the
    // caller to remove; end the program with one line if it is anything else.
    static void probe(String path, Libc.SockaddrUn addr) {
        if (!addr.isAbstract()) { // an abstract name is taken only while a socket holds it
            try {
                if (!Libc.isSocket(addr.cPath())) {
                    fail(path + ": exists and is not a socket");
                }
            } catch (LastErrorException e) {
                fail("lstat " + path + ": " + Libc.message(e));
            }
            // Connect a fresh socket of our type: only ECONNREFUSED means nobody is
            // there (EPROTOTYPE is a live socket of another type).
            try (Libc.Fd fresh = new Libc.Fd(Libc.C.socket(Libc.AF_UNIX, Libc.SOCK_STREAM, 0))) {
                Libc.C.connect(fresh.fd, addr, addr.length());
            } catch (LastErrorException e) {
                if (e.getErrorCode() == Libc.ECONNREFUSED) {
                    System.err.println("cred_server: " + path + ": removing stale socket file");
                    return;
                }
            }
        }
        fail(path + ": another server is listening there");
    }
    // ANCHOR_END: bind

    static void shutdownAndClose(Libc.Fd s) {
        if (s != null) {
            s.shutdownAndClose();
        }
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

    // A closed stdout (cred_server >&-) is caught before any socket is opened.
    // Java has no fstat(), and the JVM has opened files of its own at start-up:
    // the first took the free descriptor 1, read-only (its lib/modules). So the
    // question is not whether descriptor 1 is open but whether it may be written,
    // which its open flags in /proc/self/fdinfo/1 say (O_ACCMODE, the low two
    // bits: 0 is O_RDONLY). write(2) on either would fail with EBADF.
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

    static void fail(String error) {
        System.err.println("cred_server: " + error);
        System.exit(1);
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

    // Exactly three octal digits, such as 600 or 666: the file's permission bits.
    static int parseMode(String text) {
        if (!text.matches("[0-7]{3}")) {
            usage("bad mode: " + text);
        }
        return Integer.parseInt(text, 8);
    }

    static void usage(String problem) {
        System.err.println("cred_server: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
