# echo_client.rb -- a UDP echo client: a connected datagram socket, a receive timeout and a retry loop
#
# Usage: ruby ruby/datagram/echo_client.rb [--host H] --port P [--timeout S] [--retries N]
#
# It sends all of stdin as one datagram and writes the echo to stdout. UDP
# promises nothing about delivery: the datagram we send, or the echo that
# comes back, may simply be lost, and nobody tells us. So the client waits a
# limited time for the answer (--timeout, default 1 second), and if none
# comes it sends again, a limited number of times (--retries, default 3).
# Datagrams may also be duplicated or reordered; for an echo that does no
# harm: the first answer is the one we print. Any failure: one line on
# stderr and exit status 1.

require 'io/wait'
require 'socket'
require_relative '../lib/libc'

USAGE = 'usage: echo_client [--host H] --port P [--timeout S] [--retries N]'

# The largest UDP payload over IPv4: the IP packet's 16-bit length field
# allows 65,535 bytes, minus 20 for the IP header and 8 for the UDP header.
MAX_DATAGRAM = 65_507

# A bad command line: say what is wrong, then the usage, both on stderr.
def usage_error(message)
  warn "echo_client: #{message}"
  warn USAGE
  exit 2
end

def parse_args(argv)
  host = '127.0.0.1'
  port = nil
  timeout = 1.0
  retries = 3
  args = argv.dup
  until args.empty?
    flag = args.shift
    case flag
    when '--help'
      puts USAGE
      exit 0
    when '--host', '--port', '--timeout', '--retries'
      usage_error("#{flag} needs a value") if args.empty?
      value = args.shift
      case flag
      when '--host'
        host = value
      when '--port'
        # A decimal number, 1-65535.
        usage_error("bad port: #{value}") unless value.match?(/\A\d{1,5}\z/)
        port = value.to_i
        usage_error("bad port: #{value}") unless port.between?(1, 65_535)
      when '--timeout'
        # Seconds greater than 0: digits, optionally "." and more digits ("1",
        # "0.2"). More than a billion seconds (31 years) is taken as a billion:
        # IO#wait_readable refuses a deadline past the end of time.
        usage_error("bad timeout: #{value}") unless value.match?(/\A\d+(\.\d+)?\z/)
        timeout = [value.to_f, 1e9].min
        usage_error("bad timeout: #{value}") unless timeout.positive?
      else
        # A whole number, 0 or more.
        usage_error("bad retries: #{value}") unless value.match?(/\A\d+\z/)
        retries = value.to_i
      end
    when /\A-/
      usage_error("unknown option: #{flag}")
    else
      usage_error("unexpected argument: #{flag}")
    end
  end
  usage_error('--port is required') unless port
  [host, port, timeout, retries]
end

# Report a failure on one stderr line and end the process with status 1.
def die(message)
  warn "echo_client: #{message}"
  exit 1
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
  # for :DGRAM gives us the UDP ones.
  addrs = begin
    Addrinfo.getaddrinfo(host, port, nil, :DGRAM)
  rescue SocketError => e
    die "resolve #{host}: #{e.message.delete_prefix('getaddrinfo: ')}"
  end

  # Try each address in turn until one connects. (For UDP, connect fails
  # only for local reasons, such as no route to that address family.)
  last_error = nil
  addrs.each do |addr|
    # socket(2) makes a datagram endpoint of the address's family.
    sock = Socket.new(addr.afamily, :DGRAM, 0)
    begin
      # connect(2) sends nothing; it records the server, so that send and
      # recv need no address, and an ICMP error comes back as ECONNREFUSED.
      sock.connect(addr)
      return [sock, addr]
    rescue SystemCallError => e
      sock.close
      last_error = "connect to #{show(addr)}: #{reason(e)}"
    end
  end
  die last_error
end
# ANCHOR_END: connect

# ANCHOR: send
# send on a connected datagram socket sends one datagram to the connected
# address: all of the payload or nothing (UDP never sends part of a
# datagram; one that is too long fails with EMSGSIZE). An empty payload
# makes an empty datagram.
def send_datagram(sock, server, payload)
  sock.send(payload, 0)
rescue SystemCallError => e
  die "send to #{show(server)}: #{reason(e)}"
end
# ANCHOR_END: send

# ANCHOR: receive
# Send the payload and wait for the echo, up to retries + 1 times, and
# return the echo.
#
# A receive waits as long as it takes, so the timeout comes first:
# IO#wait_readable (from io/wait; poll(2) underneath) returns as soon as a
# datagram is there, or nil once `timeout` seconds have passed. (The C way,
# the SO_RCVTIMEO socket option, would make recv itself fail with EAGAIN,
# and Ruby's recv would just wait again.) A pending error counts as
# readable too: recv then raises it, such as ECONNREFUSED. recv returns one
# whole datagram (up to 64 KiB, more than any can carry), even an empty one.
def exchange(sock, server, payload, timeout, retries)
  (retries + 1).times do
    send_datagram(sock, server, payload)
    if sock.wait_readable(timeout)
      begin
        return sock.recv(65_536)
      rescue SystemCallError => e
        die "receive from #{show(server)}: #{reason(e)}"
      end
    end
    # No answer in time: our datagram or its echo is lost (or just late).
    # Go round again and resend it, as UDP will not.
  end
  attempts = retries.zero? ? '1 attempt' : "#{retries + 1} attempts"
  die "no reply from #{show(server)} after #{attempts}"
end
# ANCHOR_END: receive

def main
  host, port, timeout, retries = parse_args(ARGV)
  # Bytes in, bytes out: no encoding conversion, no newline translation.
  $stdin.binmode
  $stdout.binmode
  # Let Ctrl-C end us the way it ends a C program, instead of raising
  # Interrupt and printing a backtrace.
  Signal.trap('INT', 'SYSTEM_DEFAULT')

  # Started with stdout closed (`>&-`), Ruby gives descriptor 1 a pipe that
  # nobody reads (ruby/lib/libc.rb): say so before doing any work.
  die 'stdout: Bad file descriptor' if Libc.nobody_reads?($stdout)

  # The whole of stdin is one datagram, so read it all first, and refuse
  # what no datagram can carry before sending anything.
  payload = $stdin.read
  if payload.bytesize > MAX_DATAGRAM
    warn "echo_client: #{payload.bytesize} bytes is more than the #{MAX_DATAGRAM} a UDP datagram can carry"
    exit 2
  end

  sock, server = connect_to(host, port)
  begin
    reply = exchange(sock, server, payload, timeout, retries)
    begin
      $stdout.write(reply)
      $stdout.flush
    rescue SystemCallError, IOError => e
      die "write stdout: #{reason(e)}"
    end
  ensure
    sock.close
  end
end

main
