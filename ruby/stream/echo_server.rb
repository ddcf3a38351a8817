# echo_server.rb -- a TCP echo server: socket, bind, listen, accept, and serving one client at a time
#
# Usage: ruby ruby/stream/echo_server.rb [--host H] [--port P]
#
# It sends back every byte a client sends until the client half-closes its
# side, then closes that connection and accepts the next one. SIGTERM or
# SIGINT stops it with exit status 0.

require 'socket'
require_relative '../lib/libc'

USAGE = 'usage: echo_server [--host H] [--port P]'
CHUNK = 65_536 # read at most 64 KiB at a time

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

# ANCHOR: listen
def listen_on(host, port)
  # getaddrinfo turns a name or a literal ("localhost", "::1", "127.0.0.1")
  # into a list of socket addresses, one per address family and protocol;
  # asking only for :STREAM gives us the TCP ones. Addrinfo.getaddrinfo is
  # Ruby's getaddrinfo(3): each Addrinfo holds a family and a sockaddr.
  addrs = begin
    Addrinfo.getaddrinfo(host, port, nil, :STREAM)
  rescue SocketError => e
    die "resolve #{host}: #{e.message.delete_prefix('getaddrinfo: ')}"
  end

  # Use the first address we can bind to.
  last_error = nil
  addrs.each do |addr|
    # socket(2) makes an endpoint of the address's family (IPv4 or IPv6).
    server = Socket.new(addr.afamily, :STREAM, 0)
    begin
      # SO_REUSEADDR lets a restarted server bind its port at once, even
      # while connections from its previous run linger in TIME_WAIT.
      server.setsockopt(:SOCKET, :REUSEADDR, true)
      # bind(2) gives the socket its local address and port.
      server.bind(addr)
      # listen(2) makes it a passive socket: the kernel now completes TCP
      # handshakes for us and queues the connections until we accept them.
      server.listen(Socket::SOMAXCONN)
      return server
    rescue SystemCallError => e
      server.close
      last_error = "bind #{show(addr)}: #{reason(e)}"
    end
  end
  die last_error
end
# ANCHOR_END: listen

# ANCHOR: echo
# Serve one client: read whatever has arrived and write it straight back.
# readpartial returns as soon as some bytes are there (up to CHUNK) and
# raises EOFError when the client has half-closed and we have read it all.
# write loops until the whole string is sent, however much the kernel takes
# each time, and returns how many bytes that was. If the client never reads,
# write blocks: TCP's flow control slows us down to the client's pace.
def echo(conn)
  echoed = 0
  loop do
    echoed += conn.write(conn.readpartial(CHUNK))
  end
rescue EOFError
  # The client is done sending and has everything back. Return the count;
  # the caller closes the connection.
  echoed
end
# ANCHOR_END: echo

# ANCHOR: accept
def accept_loop(server)
  loop do
    # accept(2) waits for the next queued connection and returns a new
    # socket for it, plus the client's address. The listening socket stays
    # open for the clients after this one.
    conn, peer = begin
      server.accept
    rescue SystemCallError => e
      # A failed accept (too many open files, say) loses this connection,
      # not the server: log it and wait for the next.
      warn "echo_server: accept: #{reason(e)}"
      next
    end
    begin
      warn "echo_server: connection from #{show(peer)}"
      echoed = echo(conn)
      warn "echo_server: #{show(peer)}: closed, #{echoed} bytes echoed"
    rescue SystemCallError, IOError => e
      # A client that resets the connection or vanishes mid-transfer makes
      # read or write fail (ECONNRESET, EPIPE). Ruby ignores SIGPIPE, so a
      # write to a dead connection raises Errno::EPIPE instead of killing
      # us. It is this client's problem only: log it and serve the next.
      warn "echo_server: #{show(peer)}: #{reason(e)}"
    ensure
      conn.close
    end
  end
end
# ANCHOR_END: accept

# ANCHOR: stop
# What the signal handlers raise. It derives from Exception, not
# StandardError, so the per-client `rescue` above lets it pass.
class Stop < Exception; end

# Ruby runs a trap block in the main thread as soon as the signal arrives,
# even while that thread is blocked in accept or read: Ruby's blocking
# calls wake up to let it run. Raising Stop there unwinds the stack through
# every `ensure`, closing the client's socket and the listening socket;
# main rescues it and returns, and the process exits with status 0.
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
  server = listen_on(host, port)
  begin
    # ANCHOR: ready
    # getsockname(2) (local_address) says which address and port we got:
    # with --port 0 this is the only way to learn the port. The READY line
    # tells whoever started us that clients can connect now; flush it, or
    # it could sit in our stdout buffer.
    puts "READY #{show(server.local_address)}"
    $stdout.flush
    # ANCHOR_END: ready
    accept_loop(server)
  ensure
    server.close
  end
rescue Stop => e
  warn "echo_server: stopping on #{e.message}"
rescue SystemCallError, IOError => e
  # The loop logs every other failure and goes on: this is printing READY.
  die "write stdout: #{reason(e)}"
end

main
