// StreamServer.java -- a Unix-domain stream echo server: a socket file instead of a port.

import com.sun.jna.LastErrorException;
import com.sun.jna.ptr.IntByReference;
import java.util.Arrays;

// The program is the TCP echo server of chapter 2 with one change: the socket's
// address family is AF_UNIX, so its address is a name in the filesystem (or in
// Linux's abstract namespace, "@name") instead of an IP address and a port.
// Everything after bind() -- listen, accept, a byte stream, half-close -- works
// as over TCP, only through the kernel's memory instead of its network stack.
//
// The calls go to the C library through JNA (Libc.java says why: Java 17's JDK
// has UnixDomainSocketAddress for this one case, but not for the other examples
// of the chapter, and we want the four to look alike).
public class StreamServer {
    static final String USAGE = "usage: stream_server --path P [--mode M]";
    static final int BUF_SIZE = 64 * 1024;

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
        // the main thread from accept() or recv(), and the JVM would wait for it --
        // removes the socket file, as a file left behind would make the next
        // server probe it as stale, and then halt(0) ends the process at once with
        // status 0: being asked to stop is not a failure. Java has no public API to
        // say WHICH signal came, so the log line cannot name it. We register the
        // hook before READY so a signal that arrives right after READY is handled.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopping = true;
            System.err.println("stream_server: stopping on a signal");
            shutdownAndClose(current);
            shutdownAndClose(listener);
            // unlink() removes the name from the directory. Only a file this server
            // bound: one that refused to start never gets here.
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
            Libc.C.getsockname(listener.fd, bound, boundLen);
        } catch (LastErrorException e) {
            System.err.println("stream_server: getsockname: " + Libc.message(e));
            System.exit(1);
        }
        System.out.println("READY " + bound.describe(boundLen.getValue()));
        System.out.flush();
        // ANCHOR_END: ready

        // ANCHOR: accept
        byte[] buf = new byte[BUF_SIZE];
        while (true) {
            // accept() blocks until a client connects, then returns a new socket for
            // that one connection; the listening socket keeps queueing the next ones.
            // It fills in the client's address -- almost always "unnamed": a stream
            // client seldom binds an address of its own, as a TCP client needs no
            // fixed port.
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
                    System.err.println("stream_server: accept: " + Libc.message(e));
                }
                continue;
            }
            // try-with-resources closes the connection however we leave the block.
            try (Libc.Fd conn = new Libc.Fd(fd)) {
                current = conn;
                String peer = peerAddr.describe(peerLen.getValue());
                System.err.println("stream_server: connection from " + peer);
                try {
                    long echoed = echo(conn, buf);
                    if (stopping) {
                        break; // the shutdown hook cut the connection short
                    }
                    System.err.println("stream_server: " + peer + ": closed, " + echoed
                            + " bytes echoed");
                } catch (LastErrorException e) {
                    // One client's failure (a reset, a vanished peer) is only logged;
                    // the connection is closed and we serve the next one.
                    if (!stopping) {
                        System.err.println("stream_server: " + peer + ": " + Libc.message(e));
                    }
                }
            } finally {
                current = null;
            }
        }
        // ANCHOR_END: accept
    }

    // ANCHOR: bind
    // Create the listening socket on path, or end the program with one line.
    static Libc.Fd bind(String path, Libc.SockaddrUn addr, int mode) {
        Libc.Fd sock = null;
        boolean created = false;
        String step = "socket"; // the call that failed, for the error message
        try {
            // socket(AF_UNIX, SOCK_STREAM, 0): a Unix-domain byte stream. It returns
            // a file descriptor, a small int, which every later call takes.
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
                System.err.println("stream_server: " + path + ": removing stale socket file");
                step = "unlink";
                Libc.C.unlink(addr.cPath());
                step = "bind";
                Libc.C.bind(sock.fd, addr, addr.length());
            } finally {
                Libc.C.umask(oldMask);
            }
            if (!addr.isAbstract()) {
                created = true;
                // chmod(): who may connect. Connecting needs write permission on the
                // socket file. An abstract name has no file and no permissions: any
                // process on the machine (in the same network namespace) may connect.
                step = "chmod";
                Libc.C.chmod(addr.cPath(), mode);
            }
            // listen() turns the socket into one that accepts connections; 128 is the
            // backlog, how many connecting clients the kernel queues for accept().
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

    // ANCHOR: echo
    // Send back every byte the client sends until it half-closes its side, and
    // return how many bytes that was.
    static long echo(Libc.Fd conn, byte[] buf) throws LastErrorException {
        long echoed = 0;
        while (true) {
            // recv() blocks until some bytes arrive -- any number from 1 to
            // buf.length, since a stream has no message boundaries -- and returns 0
            // at end-of-file: the client called shutdown(SHUT_WR) or close().
            int n = (int) Libc.C.recv(conn.fd, buf, buf.length, 0);
            if (n == 0) {
                // Returning closes the socket (try-with-resources in the caller):
                // the client sees end-of-file after the last echoed byte.
                return echoed;
            }
            sendAll(conn, buf, n);
            echoed += n;
        }
    }

    // send() may take fewer bytes than it was given; loop until all n are sent.
    // MSG_NOSIGNAL: if the client has gone, fail with EPIPE ("Broken pipe")
    // instead of raising SIGPIPE, whose default action ends the process.
    static void sendAll(Libc.Fd conn, byte[] buf, int n) throws LastErrorException {
        int sent = 0;
        while (sent < n) {
            byte[] rest = sent == 0 ? buf : Arrays.copyOfRange(buf, sent, n);
            sent += (int) Libc.C.send(conn.fd, rest, n - sent, Libc.MSG_NOSIGNAL);
        }
    }
    // ANCHOR_END: echo

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
        System.err.println("stream_server: " + error);
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
        System.err.println("stream_server: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
