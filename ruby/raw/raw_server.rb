# raw_server.rb -- a protocol of our own straight on IP: a raw socket for protocol 253, bound to one address, answering requests
#
# Usage: ruby ruby/raw/raw_server.rb [--host A]
#
# Protocol 253 is one of the two IP protocol numbers reserved for
# experiments (RFC 3692): no TCP, no UDP, no ports -- our messages are the
# payload of the IP packet itself. A message is
#
#   byte 0: type, 1 = request, 2 = reply
#   byte 1: 0
#   bytes 2-3: an identifier the client picked, in network byte order
#   then 0 to 1,400 bytes of payload
#
# The server answers every well-formed request sent to address A (default
# 127.0.0.1, a numeric IPv4 address) with a reply carrying the same
# identifier and payload. SIGTERM or SIGINT stops it with exit status 0.
#
# Opening a raw socket needs CAP_NET_RAW (root has it); the server gives
# the privilege up as soon as its socket is open and bound.

require 'etc'
require 'socket'
require_relative '../lib/libc'

USAGE = 'usage: raw_server [--host A]'

# Our IP protocol number: 253, "use for experimentation and testing".
PROTOCOL = 253
REQUEST = 1
REPLY = 2
MAX_PAYLOAD = 1400

# The receive buffer: an IPv4 packet is at most 65,535 bytes, header included.
BUFFER_SIZE = 65_536

# A bad command line: say what is wrong, then the usage, both on stderr.
def usage_error(message)
  warn "raw_server: #{message}"
  warn USAGE
  exit 2
end

# A numeric IPv4 address the way inet_pton(3) takes it: four decimal numbers
# 0-255 with dots between them and no leading zeros.
def ipv4?(text)
  parts = text.split('.', -1)
  parts.size == 4 && parts.all? { |part| part.match?(/\A(0|[1-9]\d{0,2})\z/) && part.to_i <= 255 }
end

def parse_args(argv)
  host = '127.0.0.1'
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
      usage_error("bad host: #{host}") unless ipv4?(host)
    when /\A-/
      usage_error("unknown option: #{flag}")
    else
      usage_error("unexpected argument: #{flag}")
    end
  end
  host
end

# A server that cannot start says why on one line and exits 1.
def die(message)
  warn "raw_server: #{message}"
  exit 1
end

# The C library's text for an error, as strerror(3) spells it ("Connection
# refused"). Ruby's own message adds where it happened ("Connection refused -
# connect(2) for ..."); SystemCallError.new with just the errno gives the text.
def reason(error)
  error.is_a?(SystemCallError) ? SystemCallError.new(nil, error.errno).message : error.message
end

# ANCHOR: open
# socket(2) with SOCK_RAW (:RAW) and protocol 253: the kernel gives this
# socket every IPv4 packet of protocol 253, and sends what we write as the
# payload of one. Without CAP_NET_RAW it refuses with EPERM. bind(2) to
# --host (a sockaddr_in whose port means nothing) narrows what we receive
# to packets addressed there, and makes it our replies' source.
def open_socket(host)
  sock = begin
    Socket.new(:INET, :RAW, PROTOCOL)
  rescue Errno::EPERM, Errno::EACCES => e
    die "a raw socket needs CAP_NET_RAW (run as root): #{reason(e)}"
  rescue SystemCallError => e
    die "socket: #{reason(e)}"
  end
  begin
    sock.bind(Socket.sockaddr_in(0, host))
  rescue SystemCallError => e
    sock.close
    die "bind #{host}: #{reason(e)}"
  end
  sock
end

# Running as root, become user nobody for good, before reading a packet.
# Process::GID and Process::UID.change_privilege set the real, effective and
# saved IDs all at once (setresgid, setresuid): there is no way back.
def drop_privileges
  return unless Process.euid.zero?

  nobody = Etc.getpwnam('nobody') # getpwnam(3)
  Process.groups = [] # setgroups(2): first, while we still may
  Process::GID.change_privilege(nobody.gid)
  Process::UID.change_privilege(nobody.uid)
rescue ArgumentError
  die 'drop privileges: there is no user nobody'
rescue SystemCallError => e
  die "drop privileges to nobody: #{reason(e)}"
end
# ANCHOR_END: open

# ANCHOR: serve
# Take a received IP packet apart: [identifier, payload] for a well-formed
# request, nil for anything else (replies land here too, our own included).
# A raw IPv4 socket receives the IP header too: skip it, IHL * 4 bytes.
def parse_request(packet)
  header_length = (packet.getbyte(0) & 0x0f) * 4
  message = packet.byteslice(header_length..)
  return nil if message.nil? || message.bytesize < 4

  type, zero, ident = message.unpack('CCn')
  return nil unless type == REQUEST && zero.zero?

  payload = message.byteslice(4..)
  payload.bytesize > MAX_PAYLOAD ? nil : [ident, payload]
end

# Receive a packet, answer it if it is a request, forever. recvfrom returns
# one whole IP packet and its sender (an Addrinfo); send with a destination
# is sendto(2). Whatever fails is logged, and the loop goes on.
def serve(sock)
  loop do
    packet, from = begin
      sock.recvfrom(BUFFER_SIZE)
    rescue SystemCallError => e
      warn "raw_server: recvfrom: #{reason(e)}"
      next
    end
    request = parse_request(packet)
    next unless request

    ident, payload = request
    source = from.ip_address
    warn "raw_server: #{payload.bytesize} bytes from #{source}"
    begin
      sock.send([REPLY, 0, ident].pack('CCn') + payload, 0, Socket.sockaddr_in(0, source))
    rescue SystemCallError => e
      warn "raw_server: #{source}: #{reason(e)}"
    end
  end
end
# ANCHOR_END: serve

# ANCHOR: stop
# What the signal handlers raise. It derives from Exception, not
# StandardError, so no `rescue` meant for socket errors catches it.
class Stop < Exception; end

# Ruby runs a trap block in the main thread as soon as the signal arrives,
# even while that thread is blocked in recvfrom: Ruby's blocking calls wake
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
  host = parse_args(ARGV)
  # Started with stdout closed (`>&-`), Ruby gives descriptor 1 a pipe that
  # nobody reads (ruby/lib/libc.rb): READY would never arrive. Say so now.
  die 'stdout: Bad file descriptor' if Libc.nobody_reads?($stdout)
  # Before the socket exists, so that a signal always finds our handlers.
  trap_stop_signals
  sock = open_socket(host)
  begin
    drop_privileges
    # ANCHOR: ready
    # getsockname(2) (local_address) says which address we are bound to; a
    # raw socket has no port to report. The kernel queues packets for us
    # from the moment of bind, so we are ready. Flush the line, or it could
    # sit in our stdout buffer.
    puts "READY #{sock.local_address.ip_address}"
    $stdout.flush
    # ANCHOR_END: ready
    serve(sock)
  ensure
    sock.close
  end
rescue Stop => e
  warn "raw_server: stopping on #{e.message}"
rescue SystemCallError, IOError => e
  # The loop logs every other failure and goes on: this is printing READY.
  die "write stdout: #{reason(e)}"
end

main
