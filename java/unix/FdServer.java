// FdServer.java -- passing an open file descriptor to another process: sendmsg() with SCM_RIGHTS.

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.ptr.IntByReference;

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

    // What the shutdown hook must clean up: the sockets, and the socket file if
    // we created it (null for an abstract name, which has no file).
    static volatile Libc.Fd listener;
    static volatile Libc.Fd current;
    static volatile byte[] boundFile;
    static volatile boolean stopping;

    public static void main(String[] args) {
        String path = null;
        String file = null;
        int mode = 0600;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help" -> {
                    System.out.println(USAGE);
                    System.exit(0);
                }
                case "--path" -> path = value(args, ++i);
                case "--file" -> file = value(args, ++i);
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
        if (file == null) {
            usage("--file is required");
        }
        Libc.SockaddrUn addr = null;
        try {
            addr = Libc.SockaddrUn.of(path);
        } catch (IllegalArgumentException e) {
            usage(e.getMessage());
        }

        // Check now that we can open the file, rather than fail every client later.
        byte[] cFile = Libc.cString(file);
        try {
            // Opened, so each client's open() should work too; close it again.
            openFile(cFile).close();
        } catch (LastErrorException e) {
            fail(file + ": " + Libc.message(e));
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
            System.err.println("fd_server: getsockname: " + Libc.message(e));
            System.exit(1);
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
                    // One client's failure is only logged; we serve the next one.
                    if (!stopping) {
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
            // The ordinary data: one byte. Ancillary data cannot travel alone on a
            // stream socket -- it rides along with at least one byte of data. Its
            // value means nothing; the client must not look at it.
            Memory data = new Memory(1);
            data.setByte(0, (byte) 'F');
            // struct iovec: where the data is and how long it is. sendmsg() takes an
            // array of them ("gather"); we need one.
            Libc.Iovec iov = new Libc.Iovec();
            iov.iov_base = data;
            iov.iov_len = 1;
            iov.write(); // copy the Java fields into the struct's native memory

            // The ancillary data: one control message (struct cmsghdr) of level
            // SOL_SOCKET and type SCM_RIGHTS ("socket-level control message: access
            // rights"), whose data is the descriptor. Its cmsg_len is CMSG_LEN(4):
            // the 16-byte header plus one 4-byte int.
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

            // sendmsg() sends the byte and, with it, the descriptor. The kernel
            // installs a duplicate in the receiving process when it calls recvmsg();
            // until then the open file lives in the socket's queue.
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
        boolean created = false;
        String step = "socket"; // the call that failed, for the error message
        try {
            // socket(AF_UNIX, SOCK_STREAM, 0): a Unix-domain byte stream -- the kind
            // most descriptor-passing servers use.
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
                System.err.println("fd_server: " + path + ": removing stale socket file");
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
        System.err.println("fd_server: " + error);
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
        System.err.println("fd_server: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
