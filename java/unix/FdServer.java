// FdServer.java -- passing an open file descriptor to another process: sendmsg() with SCM_RIGHTS.

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.ptr.IntByReference;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

// A Unix-domain socket can carry more than bytes: with sendmsg() a process can
// send another process one of its open file descriptors. The receiver gets a
// new descriptor of its own (usually with another number) for the same open
// file: same file, same offset, same access mode -- even for a file it could not
// open itself. Servers use this to hand out files or connections they opened
// with rights the client lacks. This server opens --file afresh for each client
// and passes the descriptor to it.
//
// The calls go to the C library through JNA: Java 17's JDK cannot pass
// descriptors at all (Libc.java says more).
public class FdServer {
    static final String USAGE = "usage: fd_server --path P --file F [--mode M]";

    // What the shutdown hook must clean up: the sockets, and the socket file once
    // we have created it (never for an abstract name, which has no file).
    static volatile Libc.Fd listener;
    static volatile Libc.Fd current;
    static volatile byte[] boundFile;
    static volatile boolean stopping;

    public static void main(String[] args) {
        String path = null;
        Libc.SockaddrUn addr = null;
        String file = null;
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
                case "--file" -> file = value(args, ++i);
                case "--mode" -> mode = parseMode(value(args, ++i));
                default -> usage((args[i].startsWith("-") ? "unknown option: "
                                                          : "unexpected argument: ") + args[i]);
            }
        }
        if (path == null) {
            usage("--path is required");
        }
        if (file == null) {
            usage("--file is required");
        }
        checkStdout();

        // Check now that we can open the file, rather than fail every client later.
        byte[] cFile = Libc.cString(file);
        try {
            // Opened, so each client's open() should work too; close it again.
            openFile(cFile).close();
        } catch (LastErrorException e) {
            fail("open " + file + ": " + Libc.message(e));
        }

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
            System.err.println("fd_server: stopping on a signal");
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
            // accept() blocks until a client connects and returns a socket for it,
            // filling in the client's address (usually "unnamed").
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
                    System.err.println("fd_server: accept: " + Libc.message(e));
                }
                continue;
            }
            // try-with-resources closes the connection however we leave the block.
            try (Libc.Fd conn = new Libc.Fd(fd)) {
                current = conn;
                String peer = peerAddr.describe(peerLen.getValue());
                try {
                    sendFile(conn, cFile);
                    System.err.println("fd_server: passed " + file + " to " + peer);
                } catch (LastErrorException e) {
                    if (!stopping) { // one client's failure is only logged
                        System.err.println("fd_server: " + peer + ": " + Libc.message(e));
                    }
                }
            } finally {
                current = null;
            }
        }
        // ANCHOR_END: accept
    }

    // open(F, O_RDONLY): a new open file -- with its own offset at 0 -- and our
    // descriptor for it.
    static Libc.Fd openFile(byte[] cFile) throws LastErrorException {
        return new Libc.Fd(Libc.C.open(cFile, Libc.O_RDONLY));
    }

    // ANCHOR: send_fd
    // Open the file afresh (so every client reads it from the start) and send the
    // descriptor over conn.
    static void sendFile(Libc.Fd conn, byte[] cFile) throws LastErrorException {
        try (Libc.Fd file = openFile(cFile)) {
            // The ordinary data: one byte, whose value means nothing. JNA's Memory
            // is a block of native memory, which the struct below can point to.
            Memory data = new Memory(1);
            data.setByte(0, (byte) 'F');
            // struct iovec: where the data is and how long it is (one piece of it).
            Libc.Iovec iov = new Libc.Iovec();
            iov.iov_base = data;
            iov.iov_len = 1;
            iov.write(); // copy the Java fields into the struct's native memory

            // The ancillary data: one struct cmsghdr, SOL_SOCKET and SCM_RIGHTS,
            // whose data is the descriptor; cmsg_len is CMSG_LEN(4).
            Libc.CmsgRights cmsg = new Libc.CmsgRights();
            cmsg.cmsg_len = Libc.cmsgLen(4);
            cmsg.cmsg_level = Libc.SOL_SOCKET;
            cmsg.cmsg_type = Libc.SCM_RIGHTS;
            cmsg.cmsg_fd = file.fd;
            cmsg.write();

            // struct msghdr puts it together. No msg_name: the socket is connected.
            Libc.Msghdr msg = new Libc.Msghdr();
            msg.msg_iov = iov.getPointer();
            msg.msg_iovlen = 1;
            msg.msg_control = cmsg.getPointer();
            msg.msg_controllen = cmsg.size(); // CMSG_SPACE(4): 24 bytes, with padding

            // MSG_NOSIGNAL: a client that has gone is EPIPE, not the signal SIGPIPE.
            Libc.C.sendmsg(conn.fd, msg, Libc.MSG_NOSIGNAL);
        }
        // Leaving the try closes OUR descriptor for the file; the client's copy keeps
        // the file open. The caller then closes the connection.
    }
    // ANCHOR_END: send_fd

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
                    System.err.println("fd_server: " + path + ": removing stale socket file");
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

    // A closed stdout (fd_server >&-) is caught before any socket is opened.
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
        System.err.println("fd_server: " + error);
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
        System.err.println("fd_server: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
