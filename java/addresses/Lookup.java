// Lookup.java -- name resolution: InetAddress.getAllByName, Java's getaddrinfo, turns a host into addresses.

import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;

public class Lookup {
    static final String USAGE = "usage: lookup [--host H]";

    public static void main(String[] args) {
        String host = "localhost";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--help" -> {
                    System.out.println(USAGE);
                    System.exit(0);
                }
                case "--host" -> host = value(args, ++i);
                default -> usage((args[i].startsWith("-") ? "unknown option: "
                                                          : "unexpected argument: ") + args[i]);
            }
        }
        checkStdout();
        // getAllByName("") returns the loopback address; getaddrinfo() knows no such
        // name. We follow getaddrinfo(), so that every language agrees.
        if (host.isEmpty()) {
            fail("resolve : Name or service not known");
        }

        // ANCHOR: resolve
        // getAllByName() is Java's getaddrinfo(). The JDK calls it with AF_UNSPEC
        // (AF_INET only if the machine has no IPv6) and no socket type, where C
        // would get each address three times (stream, datagram, raw); it keeps one
        // InetAddress per address and leaves out the type and protocol. A literal
        // ("::1") is parsed in Java and never reaches the resolver.
        //
        // The order is the resolver's (RFC 3484 and /etc/gai.conf), except that
        // Java puts every IPv4 address before every IPv6 one unless it is run with
        // -Djava.net.preferIPv6Addresses=system (keep the resolver's order) or
        // =true (IPv6 first).
        InetAddress[] addresses;
        try {
            addresses = InetAddress.getAllByName(host);
        } catch (UnknownHostException e) {
            fail("resolve " + host + ": " + reason(e, host));
            return;
        }
        // ANCHOR_END: resolve

        // ANCHOR: print
        for (InetAddress address : addresses) {
            // An InetAddress is an address without a port (InetSocketAddress adds
            // one). Its class is its family: Inet4Address holds the 4 bytes of a
            // sockaddr_in's sin_addr, Inet6Address the 16 of a sockaddr_in6's
            // sin6_addr (and its scope id). getAddress() gives those bytes in network
            // byte order, most significant first, as they travel on the wire.
            String family;
            String text;
            if (address instanceof Inet6Address) {
                family = "inet6";
                text = compressIPv6(address.getAddress());
            } else if (address instanceof Inet4Address) {
                family = "inet";
                text = address.getHostAddress(); // dotted decimal: 127.0.0.1
            } else {
                continue; // no other kind of InetAddress exists
            }
            // getAllByName() has no socket type or protocol to report: an InetAddress
            // serves every kind of socket (Socket and ServerSocket, DatagramSocket
            // too). The contract asks for the SOCK_STREAM results, which are these
            // same addresses, and on an inet or inet6 socket a stream is TCP.
            System.out.println(family + " stream tcp " + text);
        }
        // ANCHOR_END: print

        // System.out never throws; it only remembers a failed write (a closed pipe),
        // and forgets why.
        if (System.out.checkError()) {
            fail("stdout: write failed");
        }
    }

    // Java writes ::1 as 0:0:0:0:0:0:0:1. This gives the short form of RFC 5952 that
    // C's inet_ntop() gives: lowercase hex, and the longest run of two or more zero
    // groups (the first, on a tie) replaced by "::". The raw bytes carry no %scope.
    // (The same helper as in ../stream/EchoServer.java.)
    static String compressIPv6(byte[] b) {
        int[] group = new int[8];
        for (int i = 0; i < 8; i++) {
            group[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        }
        int bestStart = -1, bestLen = 1; // a single zero group is not shortened
        for (int i = 0; i < 8; i++) {
            int len = 0;
            while (i + len < 8 && group[i + len] == 0) {
                len++;
            }
            if (len > bestLen) {
                bestStart = i;
                bestLen = len;
            }
        }
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                s.append("::");
                i += bestLen - 1;
            } else {
                if (s.length() > 0 && s.charAt(s.length() - 1) != ':') {
                    s.append(':');
                }
                s.append(Integer.toHexString(group[i]));
            }
        }
        return s.toString();
    }

    // gai_strerror()'s text. An UnknownHostException's message puts the host in
    // front of it: "nosuch.invalid: Name or service not known".
    static String reason(UnknownHostException e, String host) {
        String m = e.getMessage() == null ? "" : e.getMessage();
        return m.startsWith(host + ": ") ? m.substring(host.length() + 2) : m;
    }

    // A closed stdout (lookup >&-) is caught before anything else happens. Java has
    // no fstat(), and the JVM has opened files of its own at start-up: the first
    // took the free descriptor 1, read-only (its lib/modules). So the question is
    // not whether descriptor 1 is open but whether it may be written, which its
    // open flags in /proc/self/fdinfo/1 say (O_ACCMODE, the low two bits: 0 is
    // O_RDONLY). write(2) on either would fail with EBADF, and so we say that.
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

    // A runtime failure: one line on stderr, exit status 1.
    static void fail(String error) {
        System.err.println("lookup: " + error);
        System.exit(1);
    }

    // A flag's value is the next argument; a flag at the end has none.
    static String value(String[] args, int i) {
        if (i >= args.length) {
            usage(args[i - 1] + " needs a value");
        }
        return args[i];
    }

    static void usage(String problem) {
        System.err.println("lookup: " + problem);
        System.err.println(USAGE);
        System.exit(2);
    }
}
