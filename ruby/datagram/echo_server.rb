# echo_server.rb -- a UDP echo server: one socket, recvmsg and send, every datagram answered on its own
#
# Usage: ruby ruby/datagram/echo_server.rb [--host H] [--port P]
#
# It answers every datagram it receives with an identical datagram sent back
# to the sender. SIGTERM or SIGINT stops it with exit status 0.
#
# A datagram socket (SOCK_DGRAM; UDP over IP) is not a connection. There is
# no listen, no accept and no socket per client: one socket receives
# datagrams from anybody, each one arriving with its sender's address, which
# is where the answer goes. What UDP keeps is message boundaries: one send is
# one datagram, and one receive returns exactly one datagram, never half of
# one and never two glued together. What it does not give is everything TCP
# does: a datagram may be lost, arrive twice, or overtake an earlier one, and
# nobody is told. A client that cares must time out and ask again (see
# echo_client.rb).

require 'socket'
require_relative '../lib/libc'

USAGE = 'usage: echo_server [--host H] [--port P]'

# The receive buffer. A UDP datagram carries at most 65,507 bytes over IPv4
# (the IP packet's 16-bit length field allows 65,535 bytes, minus 20 for the
# IP header and 8 for the UDP header), and at most 65,527 over IPv6 (whose
# length field does not count its own 40-byte header). 64 KiB holds any of
# them whole.
BUFFER_SIZE = 65_536

# A bad command line: say what is wrong, then the usage, both on stderr.
def usage_error(message)
  warn "echo_server: #{message}"
  warn USAGE
  exit 2
end

def parse_args(argv)
  host = '127.0.0.1'
  port = 0 # port 0 asks the kernel to pick a free port for us
  args = argv.dup
  until args.empty?
    flag = args.shift
    case flag
    when '--help'
      puts USAGE
      exit 0
    when '--host', '--port'
      usage_error("#{flag} needs a value") if args.empty?
      value = args.shift
      if flag == '--host'
        host = value
      else
        # A decimal number, 0-65535 (0: let the kernel choose).
        usage_error("bad port: #{value}") unless value.match?(/\A\d{1,5}\z/)
        port = value.to_i
        usage_error("bad port: #{value}") unless port <= 65_535
      end
    when /\A-/
      usage_error("unknown option: #{flag}")
    else
      usage_error("unexpected argument: #{flag}")
    end
  end
  [host, port]
end

# A server that cannot start says why on one line and exits 1.
def die(message)
  warn "echo_server: #{message}"
  exit 1
end

# The C library's text for an error, as strerror(3) spells it ("Connection
# refused"). Ruby's own message adds where it happened ("Connection refused -
# connect(2) for ..."); SystemCallError.new with just the errno gives the text.
def reason(error)
  error.is_a?(SystemCallError) ? SystemCallError.new(nil, error.errno).message : error.message
end

# An Addrinfo as text: 127.0.0.1:40123, or [::1]:40123 for IPv6.
def show(addr)
  ip = addr.ipv6? ? "[#{addr.ip_address}]" : addr.ip_address
  "#{ip}:#{addr.ip_port}"
end

# ANCHOR: bind
def bind_to(host, port)
  # getaddrinfo turns a name or a literal ("localhost", "::1", "127.0.0.1")
  # into a list of socket addresses; asking only for :DGRAM gives us the UDP
  # ones. Addrinfo.getaddrinfo is Ruby's getaddrinfo(3): each Addrinfo
  # holds a family and a sockaddr.
  addrs = begin
    Addrinfo.getaddrinfo(host, port, nil, :DGRAM)
  rescue SocketError => e
    die "resolve #{host}: #{e.message.delete_prefix('getaddrinfo: ')}"
  end

  # Use the first address we can bind to. Compared with the TCP server, two
  # steps are gone: listen and accept do not exist for datagrams, and
  # neither does SO_REUSEADDR's reason (UDP leaves no connections behind in
  # TIME_WAIT).
  last_error = nil
  addrs.each do |addr|
    # socket(2) makes a datagram endpoint of the address's family.
    sock = Socket.new(addr.afamily, :DGRAM, 0)
    begin
      # bind(2) gives the socket its address and port. From now on the
      # kernel queues every datagram sent there for us, whoever sent it.
      sock.bind(addr)
      return sock
    rescue SystemCallError => e
      sock.close
      last_error = "bind #{show(addr)}: #{reason(e)}"
    end
  end
  die last_error
end
# ANCHOR_END: bind

# ANCHOR: echo
# Receive a datagram, send it back to whoever sent it, forever.
#
# recvmsg(2) returns the datagram's bytes, the sender's address (an
# Addrinfo) and the flags the kernel set: MSG_TRUNC if the datagram did not
# fit and was cut short (Socket#recvfrom could not tell us). No UDP datagram
# is too long for 64 KiB, but we would drop one, never echo a piece of it.
# send with a destination address is sendto(2): all of the datagram or
# nothing. Whatever goes wrong is logged, and the loop goes on.
def echo_loop(sock)
  loop do
    data, peer, flags = begin
      sock.recvmsg(BUFFER_SIZE)
    rescue SystemCallError => e
      warn "echo_server: recvmsg: #{reason(e)}"
      next
    end
    if flags & Socket::MSG_TRUNC != 0
      warn "echo_server: #{show(peer)}: datagram longer than #{BUFFER_SIZE} bytes, dropped"
      next
    end
    warn "echo_server: #{data.bytesize} bytes from #{show(peer)}"
    begin
      sock.send(data, 0, peer)
    rescue SystemCallError => e
      warn "echo_server: #{show(peer)}: #{reason(e)}"
    end
  end
end
# ANCHOR_END: echo

# ANCHOR: stop
# What the signal handlers raise. It derives from Exception, not
# StandardError, so no `rescue` meant for socket errors catches it.
class Stop < Exception; end

# Ruby runs a trap block in the main thread as soon as the signal arrives,
# even while that thread is blocked in recvmsg: Ruby's blocking calls wake
# up to let it run. Raising Stop there unwinds the stack through `ensure`,
# closing the socket; main rescues it and returns, and the process exits
# with status 0.
def trap_stop_signals
  %w[TERM INT].each do |name|
    Signal.trap(name) { raise Stop, "SIG#{name}" }
  end
end
# ANCHOR_END: stop

def main
  host, port = parse_args(ARGV)
  # Started with stdout closed (`>&-`), Ruby gives descriptor 1 a pipe that
  # nobody reads (ruby/lib/libc.rb): READY would never arrive. Say so now.
  die 'stdout: Bad file descriptor' if Libc.nobody_reads?($stdout)
  # Before the socket exists, so that a signal always finds our handlers.
  trap_stop_signals
  sock = bind_to(host, port)
  begin
    # ANCHOR: ready
    # getsockname(2) (local_address) says which address and port we got:
    # with --port 0 this is the only way to learn the port. A datagram
    # socket can receive as soon as it is bound, so we are ready. Flush the
    # line, or it could sit in our stdout buffer.
    puts "READY #{show(sock.local_address)}"
    $stdout.flush
    # ANCHOR_END: ready
    echo_loop(sock)
  ensure
    sock.close
  end
rescue Stop => e
  warn "echo_server: stopping on #{e.message}"
rescue SystemCallError, IOError => e
  # The loop logs every other failure and goes on: this is printing READY.
  die "write stdout: #{reason(e)}"
end

main
