// DgramServer.java -- a Unix-domain datagram echo server: each datagram goes back to its sender.

import com.sun.jna.LastErrorException;
import com.sun.jna.ptr.IntByReference;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

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

    // What the shutdown hook must clean up: the socket, and the socket file once
    // we have created it (never for an abstract name, which has no file).
    static volatile Libc.Fd sock;
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

        sock = bind(path, addr, mode);

        // ANCHOR: stop
        // SIGTERM and SIGINT make the JVM run its shutdown hooks and then exit with
        // status 143 or 130 (128 + the signal number). Our hook shuts down and
        // closes the socket -- shutdown() first, because on Linux close() alone
        // does not wake the main thread from recvfrom() -- removes the socket file,
        // and then halt(0) ends the process at once with status 0. Java has no
        // public API to say WHICH signal came, so the log line cannot name it. The
        // hook is registered before READY, so a signal right after READY is handled.
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
            fail("getsockname " + path + ": " + Libc.message(e));
        }
        System.out.println("READY " + bound.describe(boundLen.getValue()));
        System.out.flush();
        // ANCHOR_END: ready

        // ANCHOR: echo
        byte[] buf = new byte[BUF_SIZE];
        while (true) {
            // recvfrom() fills in the sender's address and its length, and with
            // MSG_TRUNC returns the datagram's real length, even if it was cut.
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
            String peer = from.describe(fromLen.getValue());
            if (stopping) {
                break; // woken by the shutdown hook's shutdown(), not by a datagram
            } else if (n > buf.length) {
                System.err.println("dgram_server: " + peer + ": datagram longer than "
                        + buf.length + " bytes, dropped");
            } else if (peer.equals("unnamed")) {
                System.err.println("dgram_server: " + n
                        + " bytes from unnamed: no address to reply to");
            } else {
                System.err.println("dgram_server: " + n + " bytes from " + peer);
                try {
                    // MSG_DONTWAIT: a full queue is EAGAIN at once, never a wait.
                    Libc.C.sendto(sock.fd, buf, n, Libc.MSG_DONTWAIT, from, fromLen.getValue());
                } catch (LastErrorException e) {
                    // EAGAIN: its queue is full; ENOENT, ECONNREFUSED: it has gone.
                    if (!stopping) {
                        System.err.println("dgram_server: " + peer + ": " + Libc.message(e));
                    }
                }
            }
        }
        // ANCHOR_END: echo
    }

    // ANCHOR: bind
    // Create the socket bound to path, or end the program with one line.
    static Libc.Fd bind(String path, Libc.SockaddrUn addr, int mode) {
        Libc.Fd sock = null;
        String step = "socket"; // the call that failed, for the error message
        try {
            // socket() returns a file descriptor, a small int, which every later
            // call takes; a Libc.Fd holds it and closes it once.
            sock = new Libc.Fd(Libc.C.socket(Libc.AF_UNIX, Libc.SOCK_DGRAM, 0));
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
            return sock; // no listen(): a datagram socket receives once it is bound
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
            // Connect a fresh socket of our type (which sends nothing): only
            // ECONNREFUSED means nobody is bound (EPROTOTYPE: another type is).
            try (Libc.Fd fresh = new Libc.Fd(Libc.C.socket(Libc.AF_UNIX, Libc.SOCK_DGRAM, 0))) {
                Libc.C.connect(fresh.fd, addr, addr.length());
            } catch (LastErrorException e) {
                if (e.getErrorCode() == Libc.ECONNREFUSED) {
                    System.err.println("dgram_server: " + path + ": removing stale socket file");
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

    // A closed stdout (dgram_server >&-) is caught before any socket is opened.
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
        System.err.println("dgram_server: " + error);
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
        System.err.println("dgram_server: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
