# lookup.py -- socket.getaddrinfo(): turn a host name or a numeric address into socket addresses
#
# Run it as `python3 python/addresses/lookup.py [--host H]`; it prints one line
# per address, `<family> <type> <protocol> <address>`, in the resolver's order.

import os
import socket
import sys

USAGE = "usage: lookup [--host H]"

# The numbers in each result, and the names we print for them. We ask only for
# stream sockets, so anything else would be a surprise: it is printed as a
# number ("proto-17") rather than hidden.
FAMILIES = {socket.AF_INET: "inet", socket.AF_INET6: "inet6"}
TYPES = {socket.SOCK_STREAM: "stream"}
PROTOCOLS = {socket.IPPROTO_TCP: "tcp"}


def usage_error(message):
    """A bad command line: what is wrong, then the usage, on stderr; exit 2."""
    print(f"lookup: {message}", file=sys.stderr)
    print(USAGE, file=sys.stderr)
    sys.exit(2)


def parse_args(argv):
    host = "localhost"
    args = iter(argv)
    for arg in args:
        if arg == "--help":
            print(USAGE)
            sys.exit(0)
        if arg != "--host":
            usage_error(f"unknown option: {arg}" if arg.startswith("-")
                        else f"unexpected argument: {arg}")
        host = next(args, None)
        if host is None:
            usage_error(f"{arg} needs a value")
    return host


def fail(message):
    print(f"lookup: {message}", file=sys.stderr, flush=True)
    # os._exit() skips Python's clean-up, which would flush a stdout that has
    # just failed and print a second error.
    os._exit(1)


def main():
    host = parse_args(sys.argv[1:])
    # Started with stdout closed (`>&-`), the resolver's own sockets would get
    # descriptor 1, and our lines would go into one: find out first.
    try:
        os.fstat(1)
    except OSError as e:
        fail(f"stdout: {e.strerror}")

    # ANCHOR: resolve
    # getaddrinfo() turns a name ("localhost") or a numeric literal ("::1") into
    # a list of socket addresses, one per address and socket type it can be
    # reached with. AF_UNSPEC means any family, IPv4 (AF_INET) or IPv6
    # (AF_INET6) -- asking for one of those would drop the other's addresses.
    # SOCK_STREAM keeps only stream sockets; without it each address would come
    # back three times (on glibc), for stream, datagram and raw sockets. No port (None)
    # means the port in each address is 0.
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_UNSPEC, socket.SOCK_STREAM)
    except OSError as e:
        # socket.gaierror (a subclass of OSError) carries getaddrinfo()'s own
        # message, e.g. "Name or service not known".
        fail(f"resolve {host}: {e.strerror or e}")
    except UnicodeError as e:
        # Python encodes a name with the IDNA codec before it reaches the
        # resolver; a name it cannot encode ("a..b") fails here.
        fail(f"resolve {host}: {e}")
    # ANCHOR_END: resolve

    # ANCHOR: print
    # The list is in the resolver's order of preference (the rules of RFC 3484,
    # which /etc/gai.conf can adjust; e.g. IPv6 before IPv4 where both work): a
    # client should try the addresses in this order and use the first that
    # connects. Each result is a tuple (family, type, proto, canonname, sockaddr):
    # the three arguments socket.socket() takes -- type stream means reliable,
    # ordered bytes; proto is the protocol within that family and type, here
    # TCP -- and the address to connect() or bind() to.
    lines = []
    for family, type_, proto, _, sockaddr in infos:
        # A socket address is a tuple whose shape depends on the family: IPv4
        # gives (host, port); IPv6 gives (host, port, flowinfo, scope_id), the
        # last naming the interface for link-local addresses. host is already a
        # string, in the short form of RFC 5952 for IPv6 ("::1"); Python did the
        # byte-order conversions of C's inet_ntop() and ntohs() for us. A scoped
        # address comes as "fe80::1%eth0": we print it without the %scope.
        address = sockaddr[0].partition("%")[0] if isinstance(sockaddr[0], str) else "?"
        lines.append(" ".join([
            FAMILIES.get(family, f"family-{family}"),
            TYPES.get(type_, f"type-{type_}"),
            PROTOCOLS.get(proto, f"proto-{proto}"),
            address,
        ]))
    # ANCHOR_END: print

    try:
        # If whoever reads stdout has gone away, this raises BrokenPipeError.
        sys.stdout.write("".join(line + "\n" for line in lines))
        sys.stdout.flush()
    except OSError as e:
        fail(f"write stdout: {e.strerror}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
