// DgramServer.java -- a Unix-domain datagram echo server: each datagram goes back to its sender.

import com.sun.jna.LastErrorException;
import com.sun.jna.ptr.IntByReference;

// The UDP echo server of chapter 3 over AF_UNIX: one socket, no connections,
// each recvfrom() one whole message with its sender's address, each sendto() one
// message back. Two things differ from UDP. Nothing is lost in transit: the
// kernel hands the datagram straight to the receiving socket or refuses it. And
// a sender needs an address of its own to get a reply: a client that never
// bound one is "unnamed", and there is nowhere to send the echo.
//
// The calls go to the C library through JNA: Java 17's JDK has no Unix-domain
// datagram sockets at all (Libc.java says more).
public class DgramServer {
    static final String USAGE = "usage: dgram_server --path P [--mode M]";
    // 64 KiB, the most the examples send. A Unix-domain datagram can be bigger (up
    // to the socket's send buffer, about 200 KiB by default); a longer one is cut
    // to fit, and we drop it (see MSG_TRUNC below).
    static final int BUF_SIZE = 65536;

    // What the shutdown hook must clean up: the socket, and the socket file if
    // we created it (null for an abstract name, which has no file).
    static volatile Libc.Fd sock;
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

        sock = bind(path, addr, mode);

        // ANCHOR: stop
        // SIGTERM and SIGINT make the JVM run its shutdown hooks and then exit with
        // status 143 or 130 (128 + the signal number). Our hook shuts down and
        // closes the socket -- shutdown() first, because close() alone would not wake
        // the main thread from recvfrom(), and the JVM would wait for it --
        // removes the socket file, as a file left behind would make the next
        // server probe it as stale, and then halt(0) ends the process at once with
        // status 0: being asked to stop is not a failure. Java has no public API to
        // say WHICH signal came, so the log line cannot name it. We register the
        // hook before READY so a signal that arrives right after READY is handled.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopping = true;
            System.err.println("dgram_server: stopping on a signal");
            shutdownAndClose(sock);
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
        // addrlen goes in as the room we have and comes back as the length used.
        Libc.SockaddrUn bound = new Libc.SockaddrUn();
        IntByReference boundLen = new IntByReference(bound.length());
        try {
            Libc.C.getsockname(sock.fd, bound, boundLen);
        } catch (LastErrorException e) {
            System.err.println("dgram_server: getsockname: " + Libc.message(e));
            System.exit(1);
        }
        System.out.println("READY " + bound.describe(boundLen.getValue()));
        System.out.flush();
        // ANCHOR_END: ready

        // ANCHOR: echo
        byte[] buf = new byte[BUF_SIZE];
        while (true) {
            // recvfrom() blocks until a datagram arrives -- from anybody -- copies the
            // whole message into buf, and fills in the sender's address and its
            // length. A datagram of 0 bytes is a message too, not end-of-file.
            // With MSG_TRUNC it returns the datagram's real length, even when that
            // is more than buf holds: that is how we can tell one was cut short.
            Libc.SockaddrUn from = new Libc.SockaddrUn();
            IntByReference fromLen = new IntByReference(from.length());
            int n;
            try {
                n = (int) Libc.C.recvfrom(sock.fd, buf, buf.length, Libc.MSG_TRUNC, from, fromLen);
            } catch (LastErrorException e) {
                if (stopping) {
                    break; // the shutdown hook is ending the process
                }
                if (e.getErrorCode() != Libc.EINTR) { // EINTR: a signal came; try again
                    System.err.println("dgram_server: recvfrom: " + Libc.message(e));
                }
                continue;
            }
            if (stopping) {
                break; // woken by the shutdown hook's shutdown(), not by a datagram
            }
            String peer = from.describe(fromLen.getValue());
            if (n > buf.length) {
                System.err.println("dgram_server: " + peer + ": datagram longer than "
                        + buf.length + " bytes, dropped");
                continue;
            }
            // A sender that never bound an address -- the kernel gives us only the
            // address family, or an empty path -- cannot be answered.
            if (peer.equals("unnamed")) {
                System.err.println("dgram_server: " + n
                        + " bytes from unnamed: no address to reply to");
                continue;
            }
            System.err.println("dgram_server: " + n + " bytes from " + peer);
            try {
                // sendto() the address recvfrom() gave us, with the length it gave:
                // one datagram of n bytes back to the sender's socket.
                // MSG_DONTWAIT: unlike UDP, which drops a datagram the receiver has
                // no room for, a Unix-domain send to a full receive queue WAITS
                // until there is room. A client that never reads would then stall
                // this server for everybody; with MSG_DONTWAIT the kernel fails the
                // call with EAGAIN instead, and we drop the reply.
                Libc.C.sendto(sock.fd, buf, n, Libc.MSG_DONTWAIT, from, fromLen.getValue());
            } catch (LastErrorException e) {
                // A full queue (EAGAIN) or a sender that has gone (ENOENT: its file
                // is removed; ECONNREFUSED: nobody is bound to it) is only logged.
                if (stopping) {
                    break;
                } else if (e.getErrorCode() == Libc.EAGAIN) {
                    System.err.println("dgram_server: " + peer
                            + ": its queue is full, reply dropped");
                } else {
                    System.err.println("dgram_server: " + peer + ": " + Libc.message(e));
                }
            }
        }
        // ANCHOR_END: echo
    }

    // ANCHOR: bind
    // Create the socket bound to path, or end the program with one line.
    static Libc.Fd bind(String path, Libc.SockaddrUn addr, int mode) {
        Libc.Fd sock = null;
        boolean created = false;
        String step = "socket"; // the call that failed, for the error message
        try {
            // socket(AF_UNIX, SOCK_DGRAM, 0): a Unix-domain datagram socket, which
            // keeps message boundaries and, within one machine, never loses one.
            sock = new Libc.Fd(Libc.C.socket(Libc.AF_UNIX, Libc.SOCK_DGRAM, 0));
            // bind() on a filesystem path CREATES the socket file, with the mode
            // 0777 minus the umask. We set the umask to 077 first, so the file is
            // born 0600 (only we may send to it) and there is no moment at which
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
                // ECONNREFUSED means nobody is bound -- the file is stale. (The check
                // and the unlink are two steps, so a server starting between them
                // could lose its file; we accept that small race.)
                if (!isStale(addr)) {
                    fail(path + ": another server is listening there");
                }
                System.err.println("dgram_server: " + path + ": removing stale socket file");
                step = "unlink";
                Libc.C.unlink(addr.cPath());
                step = "bind";
                Libc.C.bind(sock.fd, addr, addr.length());
            } finally {
                Libc.C.umask(oldMask);
            }
            if (!addr.isAbstract()) {
                created = true;
                // chmod(): who may send to us. Sending to a socket file needs write
                // permission on it. An abstract name has no file and no permissions.
                step = "chmod";
                Libc.C.chmod(addr.cPath(), mode);
                boundFile = addr.cPath();
            }
            // No listen(): a datagram socket receives from anybody once it is bound.
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
    // For a datagram socket connect() sends nothing; it only checks that a socket
    // is bound there. Refused means nobody is. Anything else -- it connects, or
    // fails with EPROTOTYPE because a live socket of another type is bound there
    // -- means the file is in use.
    static boolean isStale(Libc.SockaddrUn addr) {
        try (Libc.Fd probe = new Libc.Fd(Libc.C.socket(Libc.AF_UNIX, Libc.SOCK_DGRAM, 0))) {
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
        System.err.println("dgram_server: " + error);
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
        System.err.println("dgram_server: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
