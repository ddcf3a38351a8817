# echo_client.rb -- a TCP echo client: getaddrinfo, connect, and sending and receiving at the same time
#
# Usage: ruby ruby/stream/echo_client.rb [--host H] --port P
#
# It sends stdin to the server, half-closes the connection when stdin ends,
# and copies everything the server sends back to stdout until the server
# closes. Any failure: one line on stderr and exit status 1.

require 'socket'
require_relative '../lib/libc'

USAGE = 'usage: echo_client [--host H] --port P'
CHUNK = 65_536 # read at most 64 KiB at a time

# A bad command line: say what is wrong, then the usage, both on stderr.
def usage_error(message)
  warn "echo_client: #{message}"
  warn USAGE
  exit 2
end

def parse_args(argv)
  host = '127.0.0.1'
  port = nil
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
        # A decimal number, 1-65535.
        usage_error("bad port: #{value}") unless value.match?(/\A\d{1,5}\z/)
        port = value.to_i
        usage_error("bad port: #{value}") unless port.between?(1, 65_535)
      end
    when /\A-/
      usage_error("unknown option: #{flag}")
    else
      usage_error("unexpected argument: #{flag}")
    end
  end
  usage_error('--port is required') unless port
  [host, port]
end

# Report a failure on one stderr line and end the process with status 1.
# Both threads can fail at once (a reset breaks sending and receiving), so
# a mutex lets only the first one speak; exit! then ends the whole process
# on the spot, whichever thread calls it.
FAILURE = Mutex.new
def die(message)
  FAILURE.synchronize do
    warn "echo_client: #{message}"
    exit! 1
  end
end

# The C library's text for an error, as strerror(3) spells it ("Connection
# refused"). Ruby's own message adds where it happened ("Connection refused -
# connect(2) for ..."); SystemCallError.new with just the errno gives the text.
def reason(error)
  error.is_a?(SystemCallError) ? SystemCallError.new(nil, error.errno).message : error.message
end

# An Addrinfo as text: 127.0.0.1:7, or [::1]:7 for IPv6.
def show(addr)
  ip = addr.ipv6? ? "[#{addr.ip_address}]" : addr.ip_address
  "#{ip}:#{addr.ip_port}"
end

# ANCHOR: connect
def connect_to(host, port)
  # getaddrinfo turns a name or a literal ("localhost", "::1") into a list of
  # socket addresses; a name can have several, IPv6 and IPv4. Asking only
  # for :STREAM gives us the TCP ones. Addrinfo.getaddrinfo is Ruby's
  # getaddrinfo(3): each Addrinfo holds a family and a sockaddr.
  addrs = begin
    Addrinfo.getaddrinfo(host, port, nil, :STREAM)
  rescue SocketError => e
    die "resolve #{host}: #{e.message.delete_prefix('getaddrinfo: ')}"
  end

  # Try each address in turn until one connects. (Socket.tcp(host, port)
  # does this whole loop in one call; here it is spelled out.)
  last_error = nil
  addrs.each do |addr|
    # socket(2) makes an endpoint of the address's family (IPv4 or IPv6).
    sock = Socket.new(addr.afamily, :STREAM, 0)
    begin
      # connect(2) does the TCP handshake; the kernel picks our local port.
      sock.connect(addr)
      return sock
    rescue SystemCallError => e
      sock.close
      last_error = "connect to #{show(addr)}: #{reason(e)}"
    end
  end
  die last_error
end
# ANCHOR_END: connect

# ANCHOR: send
# A second thread copies stdin to the socket, then half-closes.
# IO.copy_stream reads stdin and writes the socket in a loop until stdin
# ends. shutdown(SHUT_WR) then sends the server an end-of-file while our
# receiving side stays open for the rest of the echo; without it the
# server would wait for more bytes forever. (close_write does the same but
# ignores errors; shutdown raises if the connection is already gone.)
def start_sender(sock, server)
  Thread.new do
    IO.copy_stream($stdin, sock)
    sock.shutdown(:WR)
  rescue StandardError => e
    # An exception left to escape a thread makes Ruby print a backtrace,
    # so the thread reports its own failure.
    die "send to #{server}: #{reason(e)}"
  end
end
# ANCHOR_END: send

# ANCHOR: receive
# Runs in the main thread, at the same time as the sender, so that neither
# side's buffers fill up. readpartial returns as soon as some bytes have
# arrived (up to CHUNK) and raises EOFError once the server has closed and
# we have read everything.
def receive_all(sock, server)
  loop do
    data = sock.readpartial(CHUNK)
    begin
      $stdout.write(data)
    rescue StandardError => e
      die "write stdout: #{reason(e)}"
    end
  end
rescue EOFError
  # The server closed the connection: the echo is complete.
rescue StandardError => e
  die "receive from #{server}: #{reason(e)}"
end
# ANCHOR_END: receive

def main
  host, port = parse_args(ARGV)
  # Bytes in, bytes out: no encoding conversion, no newline translation.
  # sync makes each write go straight to the file descriptor.
  $stdin.binmode
  $stdout.binmode
  $stdout.sync = true
  # Let Ctrl-C end us the way it ends a C program, instead of raising
  # Interrupt and printing a backtrace.
  Signal.trap('INT', 'SYSTEM_DEFAULT')

  # Started with stdout closed (`>&-`), Ruby gives descriptor 1 a pipe that
  # nobody reads (ruby/lib/libc.rb): say so before doing any work.
  die 'stdout: Bad file descriptor' if Libc.nobody_reads?($stdout)

  sock = connect_to(host, port)
  server = show(sock.remote_address)
  sender = start_sender(sock, server)
  receive_all(sock, server)
  # The server closes only after our end-of-file, so the sender is done or
  # just finishing; wait for it, as it may still report a failure.
  sender.join
  # (A failure never gets here: die exits, and the kernel closes the socket.)
  sock.close
end

main
