// CredServer.java -- asking the kernel who is on the other end of a connection: SO_PEERCRED.

import com.sun.jna.LastErrorException;
import com.sun.jna.ptr.IntByReference;
import java.nio.charset.StandardCharsets;

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

    // What the shutdown hook must clean up: the sockets, and the socket file if
    // we created it (null for an abstract name, which has no file).
    static volatile Libc.Fd listener;
    static volatile Libc.Fd current;
    static volatile byte[] boundFile;
    static volatile boolean stopping;

    public static void main(String[] args) {
        String path = null;
        int mode = 0600;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help" -> {
                    System.out.println(USAGE);
                    System.exit(0);
                }
                case "--path" -> path = value(args, ++i);
                case "--mode" -> mode = parseMode(value(args, ++i));
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

        listener = bind(path, addr, mode);

        // ANCHOR: stop
        // SIGTERM and SIGINT make the JVM run its shutdown hooks and then exit with
        // status 143 or 130 (128 + the signal number). Our hook shuts down and
        // closes the sockets -- shutdown() first, because close() alone would not wake
        // the main thread from accept(), and the JVM would wait for it --
        // removes the socket file, as a file left behind would make the next
        // server probe it as stale, and then halt(0) ends the process at once with
        // status 0: being asked to stop is not a failure. Java has no public API to
        // say WHICH signal came, so the log line cannot name it. We register the
        // hook before READY so a signal that arrives right after READY is handled.
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
            System.err.println("cred_server: getsockname: " + Libc.message(e));
            System.exit(1);
        }
        System.out.println("READY " + bound.describe(boundLen.getValue()));
        System.out.flush();
        // ANCHOR_END: ready

        // ANCHOR: accept
        while (true) {
            // accept() blocks until a client connects and returns a socket for it.
            // The client's address is of no interest here (usually "unnamed"): the
            // credentials say who it is. So we pass null for the address.
            int fd;
            try {
                fd = Libc.C.accept(listener.fd, null, null);
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
                try {
                    String line = tellCredentials(conn);
                    System.err.println("cred_server: " + line);
                } catch (LastErrorException e) {
                    // One client's failure is only logged; we serve the next one.
                    if (!stopping) {
                        System.err.println("cred_server: client: " + Libc.message(e));
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
        boolean created = false;
        String step = "socket"; // the call that failed, for the error message
        try {
            // socket(AF_UNIX, SOCK_STREAM, 0): a Unix-domain byte stream.
            sock = new Libc.Fd(Libc.C.socket(Libc.AF_UNIX, Libc.SOCK_STREAM, 0));
            // bind() on a filesystem path CREATES the socket file, with the mode
            // 0777 minus the umask. We set the umask to 077 first, so the file is
            // born 0600 (only we may connect) and there is no moment at which
            // others could; chmod() below then opens it up as far as --mode says.
            // umask() is for the whole process, so we put the old one back after.
            int oldMask = Libc.C.umask(0077);
            try {
                step = "bind";
                Libc.C.bind(sock.fd, addr, addr.length());
            } catch (LastErrorException e) {
                if (e.getErrorCode() != Libc.EADDRINUSE) {
                    throw e;
                }
                // EADDRINUSE: the name is taken. An abstract name is taken only while
                // a socket holds it, so somebody is there. A file may be a leftover.
                if (addr.isAbstract()) {
                    fail(path + ": another server is listening there");
                }
                // Never remove what is not a socket: it is somebody's file.
                step = "lstat";
                if (!Libc.isSocket(addr.cPath())) {
                    fail(path + ": exists and is not a socket");
                }
                // A socket file outlives its server if that crashed (nobody ran its
                // unlink). To tell a leftover from a live server, connect to it:
                // ECONNREFUSED means nobody is listening -- the file is stale. (The
                // check and the unlink are two steps, so a server starting between
                // them could lose its file; we accept that small race.)
                if (!isStale(addr)) {
                    fail(path + ": another server is listening there");
                }
                System.err.println("cred_server: " + path + ": removing stale socket file");
                step = "unlink";
                Libc.C.unlink(addr.cPath());
                step = "bind";
                Libc.C.bind(sock.fd, addr, addr.length());
            } finally {
                Libc.C.umask(oldMask);
            }
            if (!addr.isAbstract()) {
                created = true;
                // chmod(): who may connect (connecting needs write permission on the
                // socket file). An abstract name has no file and no permissions.
                step = "chmod";
                Libc.C.chmod(addr.cPath(), mode);
            }
            // listen(): accept connections, queueing up to 128 for accept().
            step = "listen";
            Libc.C.listen(sock.fd, 128);
            if (created) {
                boundFile = addr.cPath();
            }
            return sock;
        } catch (LastErrorException e) {
            if (created) {
                Libc.unlinkQuietly(addr.cPath());
            }
            closeQuietly(sock);
            fail(path + ": " + step + ": " + Libc.message(e));
            return null;
        }
    }

    // The stale-file probe: connect a fresh socket of our own type to the address.
    // Refused means nobody is listening. Anything else -- it connects, or fails
    // with EPROTOTYPE because a live socket of another type is bound there -- means
    // the file is in use.
    static boolean isStale(Libc.SockaddrUn addr) {
        try (Libc.Fd probe = new Libc.Fd(Libc.C.socket(Libc.AF_UNIX, Libc.SOCK_STREAM, 0))) {
            Libc.C.connect(probe.fd, addr, addr.length());
            return false;
        } catch (LastErrorException e) {
            return e.getErrorCode() == Libc.ECONNREFUSED;
        }
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

    static void fail(String error) {
        System.err.println("cred_server: " + error);
        System.exit(1);
    }

    static String value(String[] args, int i) {
        if (i >= args.length) {
            usage(args[i - 1] + " needs a value");
        }
        return args[i];
    }

    // Exactly three octal digits, such as 600 or 666: the file's permission bits.
    static int parseMode(String text) {
        if (!text.matches("[0-7]{3}")) {
            usage("bad mode " + text);
        }
        return Integer.parseInt(text, 8);
    }

    static void usage(String problem) {
        System.err.println("cred_server: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
