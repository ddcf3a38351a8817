// FdClient.java -- receiving an open file descriptor with recvmsg() and SCM_RIGHTS.

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

// The client of FdServer.java. It never opens the file, and is not even told its
// name: it receives a descriptor the server opened, and reads the file through
// it. The descriptor arrives as ancillary data of recvmsg(); the kernel installs
// it in our process as a new descriptor number.
//
// The calls go to the C library through JNA: Java 17's JDK cannot pass
// descriptors at all (Libc.java says more).
public class FdClient {
    static final String USAGE = "usage: fd_client --path P";
    static final int BUF_SIZE = 64 * 1024;

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

        // try-with-resources closes the socket, and then the received file, however
        // we leave the block.
        try (Libc.Fd sock = connect(path, addr);
             Libc.Fd file = receiveFd(sock, path)) {
            copyToStdout(file);
        }
        finish(0, null);
    }

    // ANCHOR: connect
    static Libc.Fd connect(String path, Libc.SockaddrUn addr) {
        Libc.Fd sock = null;
        try {
            // socket(AF_UNIX, SOCK_STREAM, 0) and connect() to the server's address.
            // Descriptors can only travel over Unix-domain sockets: the kernel
            // moves the open file from one process to the other, which it can do
            // only between processes on the same machine.
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

    // ANCHOR: recv_fd
    // Receive the server's message and return the descriptor it carries.
    static Libc.Fd receiveFd(Libc.Fd sock, String path) {
        // Room for the one byte of ordinary data; we do not look at its value.
        Memory data = new Memory(1);
        Libc.Iovec iov = new Libc.Iovec();
        iov.iov_base = data;
        iov.iov_len = 1;
        iov.write();
        // Room for one control message carrying one descriptor: CMSG_SPACE(4), 24
        // bytes. A descriptor that does not fit is closed by the kernel, and
        // recvmsg() sets MSG_CTRUNC in msg_flags.
        Libc.CmsgRights cmsg = new Libc.CmsgRights();
        cmsg.write(); // all zeros
        Libc.Msghdr msg = new Libc.Msghdr();
        msg.msg_iov = iov.getPointer();
        msg.msg_iovlen = 1;
        msg.msg_control = cmsg.getPointer();
        msg.msg_controllen = cmsg.size();
        try {
            // recvmsg() is recv() with the msghdr: it fills in the data, the control
            // buffer, and sets msg_controllen to the bytes of control data received
            // (JNA reads the updated msghdr back into msg after the call).
            long n = Libc.C.recvmsg(sock.fd, msg, 0);
            cmsg.read(); // the control buffer's native memory into the Java fields
            // A descriptor arrived if there is a whole control message of the right
            // level and type. 0 bytes of data means the server closed without
            // sending anything -- and then there is no control message either.
            if (n > 0 && msg.msg_controllen >= Libc.cmsgLen(4)
                    && cmsg.cmsg_level == Libc.SOL_SOCKET && cmsg.cmsg_type == Libc.SCM_RIGHTS) {
                return new Libc.Fd(cmsg.cmsg_fd);
            }
        } catch (LastErrorException e) {
            finish(1, "receive from " + path + ": " + Libc.message(e));
        }
        finish(1, "the server sent no descriptor");
        return null;
    }
    // ANCHOR_END: recv_fd

    // ANCHOR: read
    // The received descriptor is an open file like any other: read() it to
    // end-of-file -- from the start, since the server opened it for us alone --
    // and copy it to stdout.
    static void copyToStdout(Libc.Fd file) {
        byte[] buf = new byte[BUF_SIZE];
        // The raw stdout file: System.out is a PrintStream, which swallows errors.
        OutputStream stdout = new FileOutputStream(FileDescriptor.out);
        try {
            int n;
            while ((n = (int) Libc.C.read(file.fd, buf, buf.length)) > 0) {
                try {
                    stdout.write(buf, 0, n);
                } catch (IOException e) {
                    finish(1, "stdout: " + e.getMessage());
                }
            }
        } catch (LastErrorException e) {
            finish(1, "read the received file: " + Libc.message(e));
        }
    }
    // ANCHOR_END: read

    // The only way out of the program once it is running: one line or none, then exit.
    static void finish(int status, String error) {
        if (error != null) {
            System.err.println("fd_client: " + error);
        }
        System.exit(status);
    }

    // A closed stdout (fd_client >&-) is caught before any socket is opened, or
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
        System.err.println("fd_client: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
