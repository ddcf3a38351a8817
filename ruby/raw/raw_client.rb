# raw_client.rb -- a request/reply client straight on IP: protocol 253 on a raw socket, matched by source address and identifier
#
# Usage: ruby ruby/raw/raw_client.rb --host A [--timeout S] [--retries N]
#
# It sends all of stdin (0 to 1,400 bytes) as one protocol-253 request to
# address A (a numeric IPv4 address; see raw_server.rb for the message
# layout) and writes the payload of the reply to stdout. Like a UDP client
# it waits a limited time for the answer (--timeout, default 1 second) and
# asks again a limited number of times (--retries, default 3). Any failure:
# one line on stderr and exit status 1; a payload that is too long: exit 2.
#
# Opening a raw socket needs CAP_NET_RAW (root has it); the client gives
# the privilege up as soon as its socket is open.

require 'etc'
require 'io/wait'
require 'socket'
require_relative '../lib/libc'

USAGE = 'usage: raw_client --host A [--timeout S] [--retries N]'

# Our IP protocol number: 253, "use for experimentation and testing".
PROTOCOL = 253
REQUEST = 1
REPLY = 2
MAX_PAYLOAD = 1400

# The receive buffer: an IPv4 packet is at most 65,535 bytes, header included.
BUFFER_SIZE = 65_536

# A bad command line: say what is wrong, then the usage, both on stderr.
def usage_error(message)
  warn "raw_client: #{message}"
  warn USAGE
  exit 2
end

# A numeric IPv4 address the way inet_pton(3) takes it: four decimal numbers
# 0-255 with dots between them and no leading zeros. Being strict makes the
# text canonical: exactly how the source address of a packet prints, which
# is what it is compared with.
def ipv4?(text)
  parts = text.split('.', -1)
  parts.size == 4 && parts.all? { |part| part.match?(/\A(0|[1-9]\d{0,2})\z/) && part.to_i <= 255 }
end

def parse_args(argv)
  host = nil
  timeout = 1.0
  retries = 3
  args = argv.dup
  until args.empty?
    flag = args.shift
    case flag
    when '--help'
      puts USAGE
      exit 0
    when '--host', '--timeout', '--retries'
      usage_error("#{flag} needs a value") if args.empty?
      value = args.shift
      case flag
      when '--host'
        usage_error("bad host: #{value}") unless ipv4?(value)
        host = value
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
  usage_error('--host is required') unless host
  [host, timeout, retries]
end

# Report a failure on one stderr line and end the process with status 1.
def die(message)
  warn "raw_client: #{message}"
  exit 1
end

# The C library's text for an error, as strerror(3) spells it ("Connection
# refused"). Ruby's own message adds where it happened ("Connection refused -
# connect(2) for ..."); SystemCallError.new with just the errno gives the text.
def reason(error)
  error.is_a?(SystemCallError) ? SystemCallError.new(nil, error.errno).message : error.message
end

def now
  Process.clock_gettime(Process::CLOCK_MONOTONIC)
end

# ANCHOR: open
# socket(2) with SOCK_RAW (:RAW) and protocol 253: we may send packets of
# protocol 253 whose payload we write ourselves, and the kernel hands us a
# copy of every protocol-253 packet that reaches the host. Without
# CAP_NET_RAW the kernel refuses with EPERM. The socket stays unbound: the
# kernel picks our source address for each packet it sends.
def open_socket
  Socket.new(:INET, :RAW, PROTOCOL)
rescue Errno::EPERM, Errno::EACCES => e
  die "a raw socket needs CAP_NET_RAW (run as root): #{reason(e)}"
rescue SystemCallError => e
  die "socket: #{reason(e)}"
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

# ANCHOR: send
# The request: type 1, a zero byte, our identifier in network byte order
# (pack 'CCn': C is one byte, n a big-endian 16-bit number), the payload.
# send with a destination is sendto(2); the destination is a sockaddr_in
# whose port is 0 and means nothing, as IP itself has no ports. Without the
# IP_HDRINCL option the kernel writes the IP header -- protocol 253, the
# source address, the header checksum -- in front of our message.
def send_request(sock, host, ident, payload)
  request = [REQUEST, 0, ident].pack('CCn') + payload
  sock.send(request, 0, Socket.sockaddr_in(0, host))
rescue SystemCallError => e
  die "send to #{host}: #{reason(e)}"
end
# ANCHOR_END: send

# ANCHOR: receive
# Return the payload if `packet`, sent by `from`, is the reply we wait for:
# from the address we asked, type 2, a zero byte and our identifier. Our
# socket is bound to nothing, so every protocol-253 packet on the host comes
# here, our own request included. The IP header comes too: IHL * 4 bytes.
def reply_payload(packet, from, host, ident)
  return nil unless from.ip_address == host

  header_length = (packet.getbyte(0) & 0x0f) * 4
  message = packet.byteslice(header_length..)
  return nil if message.nil? || message.bytesize < 4 || message.unpack('CCn') != [REPLY, 0, ident]

  message.byteslice(4..)
end

# Send the request and wait for the reply, up to retries + 1 times, and
# return the reply's payload. IO#wait_readable (poll(2) underneath) waits
# until a packet is there or the time left runs out; since packets that are
# not ours wake us too, each attempt has a deadline.
def exchange(sock, host, ident, payload, timeout, retries)
  (retries + 1).times do
    send_request(sock, host, ident, payload)
    deadline = now + timeout
    loop do
      left = deadline - now
      break unless left.positive? && sock.wait_readable(left)

      packet, from = begin
        sock.recvfrom(BUFFER_SIZE)
      rescue SystemCallError => e
        die "receive from #{host}: #{reason(e)}"
      end
      reply = reply_payload(packet, from, host, ident)
      return reply if reply
    end
  end
  attempts = retries.zero? ? '1 attempt' : "#{retries + 1} attempts"
  die "no reply from #{host} after #{attempts}"
end
# ANCHOR_END: receive

def main
  host, timeout, retries = parse_args(ARGV)
  # Let Ctrl-C end us the way it ends a C program, instead of raising
  # Interrupt and printing a backtrace.
  Signal.trap('INT', 'SYSTEM_DEFAULT')

  # Started with stdout closed (`>&-`), Ruby gives descriptor 1 a pipe that
  # nobody reads (ruby/lib/libc.rb): say so before doing any work.
  die 'stdout: Bad file descriptor' if Libc.nobody_reads?($stdout)

  sock = open_socket
  begin
    drop_privileges

    # Bytes in, bytes out: no encoding conversion, no newline translation.
    # The whole of stdin is one request, so read it all first, and refuse
    # what one message may not carry before sending anything.
    $stdin.binmode
    $stdout.binmode
    payload = begin
      $stdin.read
    rescue SystemCallError, IOError => e
      die "read stdin: #{reason(e)}"
    end
    if payload.bytesize > MAX_PAYLOAD
      warn "raw_client: #{payload.bytesize} bytes is more than the #{MAX_PAYLOAD} a request can carry"
      exit 2
    end

    # The identifier tells our reply from everybody else's: a random 16-bit
    # number, new for each run.
    ident = Random.rand(0x10000)
    reply = exchange(sock, host, ident, payload, timeout, retries)
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
