// StreamServer.java -- a Unix-domain stream echo server: a socket file instead of a port.

import com.sun.jna.LastErrorException;
import com.sun.jna.ptr.IntByReference;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
        // does not wake the main thread from accept() or recv() -- removes the
        // socket file, and then halt(0) ends the process at once with status 0.
        // Java has no public API to say WHICH signal came, so the log line cannot
        // name it. The hook is registered before READY, so a signal right after
        // READY is handled too.
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
            fail("getsockname " + path + ": " + Libc.message(e));
        }
        System.out.println("READY " + bound.describe(boundLen.getValue()));
        System.out.flush();
        // ANCHOR_END: ready

        // ANCHOR: accept
        byte[] buf = new byte[BUF_SIZE];
        while (true) {
            // accept() fills in the client's address and its length: almost always
            // "unnamed", since a stream client seldom binds an address of its own.
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
                    if (!stopping) { // one client's failure is only logged
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
            // ANCHOR_END: bind
            // ANCHOR: listen
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
    // ANCHOR_END: listen

    // ANCHOR: probe
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
                    System.err.println("stream_server: " + path + ": removing stale socket file");
                    return;
                }
            }
        }
        fail(path + ": another server is listening there");
    }
    // ANCHOR_END: probe

    // ANCHOR: echo
    // Send back every byte the client sends until it half-closes its side, and
    // return how many bytes that was.
    static long echo(Libc.Fd conn, byte[] buf) throws LastErrorException {
        long echoed = 0;
        while (true) {
            // recv() returns whatever has arrived, 1 to buf.length bytes, or 0 at
            // end-of-file: the client has half-closed (or closed).
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

    // A closed stdout (stream_server >&-) is caught before any socket is opened.
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
        System.err.println("stream_server: " + error);
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
        System.err.println("stream_server: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
