// RawServer.java -- a request/reply server on IP protocol 253, over a raw socket bound to one address.

import com.sun.jna.LastErrorException;
import com.sun.jna.ptr.IntByReference;

// Below TCP and UDP, IP carries any protocol numbered 0-255: 1 is ICMP, 6 TCP,
// 17 UDP, and 253 and 254 are set aside for experiments (RFC 3692). With a raw
// socket a program can speak such a protocol of its own, with no ports and no
// transport header: the IP payload is our message, and we define it.
//
//   byte 0: type, 1 = request, 2 = reply    byte 1: 0
//   bytes 2-3: identifier, network order    then 0 to 1,400 bytes of payload
//
// This server answers each request with a reply that carries the same identifier
// and payload. Without ports, the only thing that tells its packets from other
// programs' is the address it binds: it receives only packets sent to --host
// (127.53.0.1, say -- all of 127.0.0.0/8 is this machine's loopback).
//
// The calls go to the C library through JNA: the JDK has no raw sockets
// (Libc.java says more).
public class RawServer {
    static final String USAGE = "usage: raw_server [--host A]";

    static final int REQUEST = 1;
    static final int REPLY = 2;
    static final int HEADER_SIZE = 4;
    static final int MAX_PAYLOAD = 1400;
    // Room for any IP packet: its total-length field is 16 bits.
    static final int BUF_SIZE = 65536;

    // What the shutdown hook must close, and how the main thread learns it did.
    static volatile Libc.Fd sock;
    static volatile boolean stopping;

    public static void main(String[] args) {
        String host = "127.0.0.1";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help" -> {
                    System.out.println(USAGE);
                    System.exit(0);
                }
                case "--host" -> host = value(args, ++i);
                default -> {
                    String what = args[i].startsWith("-") ? "unknown option" : "stray argument";
                    usage(what + " " + args[i]);
                }
            }
        }
        byte[] address = Libc.parseIPv4(host);
        if (address == null) {
            usage("bad host " + host + " (a numeric IPv4 address)");
        }

        sock = open(host, address);

        // ANCHOR: stop
        // SIGTERM and SIGINT make the JVM run its shutdown hooks and then exit with
        // status 143 or 130 (128 + the signal number). Our hook shuts down and
        // closes the socket -- shutdown() first, because close() alone would not wake
        // the main thread from recvfrom() -- and then halt(0) ends the process at
        // once with status 0: being asked to stop is not a failure. Java has no
        // public API to say WHICH signal came, so the log line cannot name it. We
        // register the hook before READY so a signal right after READY is handled.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopping = true;
            System.err.println("raw_server: stopping on a signal");
            sock.shutdownAndClose();
            Runtime.getRuntime().halt(0);
        }));
        // ANCHOR_END: stop

        // ANCHOR: ready
        // getsockname(): the address the socket is bound to, as the kernel has it. A
        // raw socket has no port to report, so the READY line is the address alone.
        Libc.SockaddrIn bound = new Libc.SockaddrIn();
        IntByReference boundLen = new IntByReference(Libc.SOCKADDR_IN_SIZE);
        try {
            Libc.C.getsockname(sock.fd, bound, boundLen);
        } catch (LastErrorException e) {
            fail("getsockname: " + Libc.message(e));
        }
        System.out.println("READY " + bound.address());
        System.out.flush();
        // ANCHOR_END: ready

        // ANCHOR: serve
        byte[] buf = new byte[BUF_SIZE];
        byte[] reply = new byte[HEADER_SIZE + MAX_PAYLOAD];
        while (true) {
            Libc.SockaddrIn from = new Libc.SockaddrIn();
            IntByReference fromLen = new IntByReference(Libc.SOCKADDR_IN_SIZE);
            int n;
            try {
                // recvfrom() blocks until a protocol-253 packet addressed to our
                // address arrives, and returns the whole IP packet -- header first
                // -- and the sender's address.
                n = (int) Libc.C.recvfrom(sock.fd, buf, buf.length, 0, from, fromLen);
            } catch (LastErrorException e) {
                if (stopping) {
                    break; // the shutdown hook is ending the process
                }
                if (e.getErrorCode() != Libc.EINTR) { // EINTR: a signal came; try again
                    System.err.println("raw_server: recvfrom: " + Libc.message(e));
                }
                continue;
            }
            if (stopping) {
                break; // woken by the shutdown hook's shutdown(), not by a packet
            }
            // Skip the IP header: the low 4 bits of its first byte, the IHL, are its
            // length in 32-bit words -- 5, that is 20 bytes, unless it has options.
            if (n < 20) {
                continue;
            }
            int ihl = (buf[0] & 0x0f) * 4;
            int len = n - ihl; // our message's length
            // Anybody can send us anything, so we check before we trust: at least
            // the 4-byte header, type 1 (a request), the second byte 0, and no more
            // payload than the protocol allows. Everything else is dropped without a
            // word: replies land here too (a client on our own address would send
            // us its request and receive our reply), and so does garbage.
            if (len < HEADER_SIZE || buf[ihl] != REQUEST || buf[ihl + 1] != 0
                    || len - HEADER_SIZE > MAX_PAYLOAD) {
                continue;
            }
            int payload = len - HEADER_SIZE; // what we log: the payload's bytes
            String peer = from.address();
            System.err.println("raw_server: " + payload + " bytes from " + peer);
            // The reply: type 2, then the request's second byte (0), identifier and
            // payload, unchanged. Protocol 253 has no checksum of its own; the kernel
            // computes the IP header's checksum, which covers only the header.
            reply[0] = REPLY;
            System.arraycopy(buf, ihl + 1, reply, 1, len - 1);
            try {
                // sendto() the address recvfrom() gave us. The kernel writes the IP
                // header: protocol 253, to the sender, from our bound address --
                // which is how the client knows the reply is ours.
                Libc.C.sendto(sock.fd, reply, len, 0, from, fromLen.getValue());
            } catch (LastErrorException e) {
                // One packet's failure is only logged; we go on with the next.
                if (stopping) {
                    break;
                }
                System.err.println("raw_server: " + peer + ": " + Libc.message(e));
            }
        }
        // ANCHOR_END: serve
    }

    // ANCHOR: open
    // The raw socket for protocol 253, bound to address; or the end of the program
    // with one line.
    static Libc.Fd open(String host, byte[] address) {
        Libc.Fd sock = null;
        try {
            // socket(AF_INET, SOCK_RAW, 253): a raw IPv4 socket for protocol 253. We
            // send only our message; the kernel puts the IP header in front (we do
            // not set IP_HDRINCL). We receive whole IP packets, header included: a
            // copy of every protocol-253 packet that reaches this host -- unless,
            // as here, bind() narrows that down. Only a process with CAP_NET_RAW
            // (root has it) may open one; anybody else gets EPERM.
            sock = new Libc.Fd(Libc.C.socket(Libc.AF_INET, Libc.SOCK_RAW,
                    Libc.IPPROTO_EXPERIMENT));
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Libc.EPERM) {
                fail("a raw socket needs CAP_NET_RAW (run as root): " + Libc.message(e));
            }
            fail("socket: " + Libc.message(e));
        }
        try {
            // bind() a raw socket to an address: there is no port, only the address.
            // From now on the kernel delivers to us only packets whose destination
            // is that address, and uses it as the source of what we send.
            Libc.SockaddrIn addr = Libc.SockaddrIn.of(address);
            Libc.C.bind(sock.fd, addr, Libc.SOCKADDR_IN_SIZE);
        } catch (LastErrorException e) {
            sock.close();
            fail("bind " + host + ": " + Libc.message(e));
        }
        // The privilege was needed to open the socket and for nothing after it: an
        // open raw socket goes on working for whoever holds it. So we give root up
        // at once, before we read a single packet -- whatever arrives from the
        // network is then parsed by an ordinary user, not by root.
        dropPrivileges();
        return sock;
    }

    // Become user "nobody" if we are root: the supplementary groups first, then the
    // group, then the user -- in that order, because once we are nobody we are no
    // longer allowed to change our groups. Any failure is fatal: carrying on as
    // root is exactly what this is meant to prevent.
    static void dropPrivileges() {
        if (Libc.C.geteuid() != 0) {
            return; // not root: nothing to give up
        }
        Libc.Passwd nobody = Libc.C.getpwnam("nobody");
        if (nobody == null) {
            fail("drop privileges: there is no user nobody");
        }
        Libc.removePerfDataFile(); // root's to delete: a JVM detail, see Libc.java
        String step = "setgroups";
        try {
            // The JVM runs many threads, and the Linux system calls change only the
            // calling thread's ids; the C library's wrappers make every thread of
            // the process follow, so all of the JVM becomes nobody.
            Libc.C.setgroups(0, null);
            step = "setgid";
            Libc.C.setgid(nobody.pw_gid);
            step = "setuid";
            Libc.C.setuid(nobody.pw_uid);
        } catch (LastErrorException e) {
            fail("drop privileges: " + step + ": " + Libc.message(e));
        }
    }
    // ANCHOR_END: open

    // halt(), not exit(): once the shutdown hook is registered, exit() would run it,
    // and it would report a signal and end the process with status 0.
    static void fail(String error) {
        System.err.println("raw_server: " + error);
        Runtime.getRuntime().halt(1);
    }

    static String value(String[] args, int i) {
        if (i >= args.length) {
            usage(args[i - 1] + " needs a value");
        }
        return args[i];
    }

    static void usage(String problem) {
        System.err.println("raw_server: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
