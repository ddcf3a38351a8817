# lookup.rb -- name resolution: getaddrinfo turns a host name or literal into socket addresses
#
# Usage: ruby ruby/addresses/lookup.rb [--host H]
#
# It prints one line per address, in the resolver's order:
# <family> <type> <protocol> <address>, e.g. "inet stream tcp 127.0.0.1".

require 'socket'
require_relative '../lib/libc'

USAGE = 'usage: lookup [--host H]'

# Names for the numbers getaddrinfo returns. We ask for stream sockets, so
# only the first entry of each should ever appear; anything else is printed
# as its number.
FAMILIES = { Socket::AF_INET => 'inet', Socket::AF_INET6 => 'inet6' }.freeze
TYPES = { Socket::SOCK_STREAM => 'stream', Socket::SOCK_DGRAM => 'dgram',
          Socket::SOCK_RAW => 'raw' }.freeze
PROTOCOLS = { Socket::IPPROTO_TCP => 'tcp', Socket::IPPROTO_UDP => 'udp' }.freeze

# A bad command line: say what is wrong, then the usage, both on stderr.
def usage_error(message)
  warn "lookup: #{message}"
  warn USAGE
  exit 2
end

# A runtime failure: one line on stderr, exit status 1.
def die(message)
  warn "lookup: #{message}"
  exit 1
end

def parse_args(argv)
  host = 'localhost'
  args = argv.dup
  until args.empty?
    flag = args.shift
    case flag
    when '--help'
      puts USAGE
      exit 0
    when '--host'
      usage_error("#{flag} needs a value") if args.empty?
      host = args.shift
    when /\A-/
      usage_error("unknown option: #{flag}")
    else
      usage_error("unexpected argument: #{flag}")
    end
  end
  host
end

def main
  host = parse_args(ARGV)
  # Started with stdout closed (`>&-`), Ruby gives descriptor 1 a pipe that
  # nobody reads (ruby/lib/libc.rb): say so before the resolver does any work.
  die 'stdout: Bad file descriptor' if Libc.nobody_reads?($stdout)
  # Ruby reads two host names its own way before the resolver sees them:
  # "" is INADDR_ANY (0.0.0.0) and "<broadcast>" is INADDR_BROADCAST. For C's
  # getaddrinfo() "" is no name at all, and so it is for us.
  die 'resolve : Name or service not known' if host.empty?

  # ANCHOR: resolve
  # A socket address is an address family, an address and a port (C's
  # struct sockaddr_in for IPv4, sockaddr_in6 for IPv6). getaddrinfo(3)
  # turns a name ("localhost") or a literal ("127.0.0.1", "::1") into a
  # list of them, each with the socket type and protocol to use it with: a
  # name can have several addresses, IPv4 (AF_INET) and IPv6 (AF_INET6).
  # :UNSPEC (AF_UNSPEC) asks for either family; :INET or :INET6 would ask for
  # one. :STREAM (SOCK_STREAM) asks for stream sockets only; without it each
  # address would come three times, for stream, datagram and raw sockets.
  # nil is the service: no port.
  #
  # The order is a preference: the resolver sorts by RFC 3484 (and
  # /etc/gai.conf), and a client should try the addresses in that order.
  addrs = begin
    Addrinfo.getaddrinfo(host, nil, :UNSPEC, :STREAM)
  rescue SocketError => e
    die "resolve #{host}: #{e.message.delete_prefix('getaddrinfo: ')}"
  end
  # ANCHOR_END: resolve

  # ANCHOR: print
  addrs.each do |addr|
    # An Addrinfo is one result: the family, socket type and protocol as
    # numbers (protocol 6 is IPPROTO_TCP, the protocol of a stream on inet
    # or inet6), and the sockaddr itself, packed in network byte order.
    family = FAMILIES.fetch(addr.afamily, addr.afamily.to_s)
    type = TYPES.fetch(addr.socktype, addr.socktype.to_s)
    protocol = PROTOCOLS.fetch(addr.protocol, addr.protocol.to_s)
    # ip_address unpacks the address as text with getnameinfo(3): dotted
    # decimal, or RFC 5952's compressed IPv6 form, plus "%eth0" for a
    # link-local address; that zone is the scope id, not part of the address.
    address = addr.ip_address.sub(/%.*\z/, '')
    puts "#{family} #{type} #{protocol} #{address}"
  end
  # ANCHOR_END: print
  # puts fills Ruby's buffer; flush writes it out now, while a failure can
  # still be reported (at exit, Ruby would drop it silently).
  $stdout.flush
rescue SystemCallError => e
  # Ruby raises Errno::EPIPE instead of dying on SIGPIPE: stdout is a closed
  # pipe.
  die "write stdout: #{SystemCallError.new(nil, e.errno).message}"
end

main
