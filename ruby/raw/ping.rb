# ping.rb -- ping over a raw ICMP socket: build the echo request, compute its checksum, skip the IP header of the reply (IPv4 only)
#
# Usage: ruby ruby/raw/ping.rb --host H [--count N] [--timeout S]
#
# It sends --count (default 3) ICMP echo requests to H, one after the
# other, waits up to --timeout seconds (default 1) for each reply, prints one
# line per request and a summary, and exits 0 if every request was answered,
# 1 otherwise.
#
# A raw socket (SOCK_RAW) skips the transport layer: no TCP, no UDP, no
# ports. What we send is the payload of an IP packet -- here a whole ICMP
# message, header and checksum included, made byte by byte -- and what we
# receive is the whole IP packet, header first. That power is why opening
# one needs a privilege (CAP_NET_RAW; root has it), and why the program
# gives the privilege up as soon as the socket is open.
#
# This version speaks IPv4 only: --host is a numeric IPv4 address. (ICMPv6
# differs in its types, 128 and 129, in its checksum, which covers an IPv6
# pseudo-header and which the kernel computes, and in the receive, which
# comes without the IP header. The C and Python versions do both.)

require 'etc'
require 'io/wait'
require 'socket'
require_relative '../lib/libc'

USAGE = 'usage: ping --host H [--count N] [--timeout S]'

# ICMP message types (RFC 792).
ECHO_REPLY = 0
ECHO_REQUEST = 8

# The receive buffer: an IPv4 packet is at most 65,535 bytes, header included.
BUFFER_SIZE = 65_536

# A bad command line: say what is wrong, then the usage, both on stderr.
def usage_error(message)
  warn "ping: #{message}"
  warn USAGE
  exit 2
end

# A numeric IPv4 address the way inet_pton(3) takes it: four decimal numbers
# 0-255 with dots between them and no leading zeros ("127.0.0.1", not
# "127.1", "0x7f.0.0.1" or "127.000.0.1"). Being strict makes the text
# canonical: it is exactly how the kernel's addresses print.
def ipv4?(text)
  parts = text.split('.', -1)
  parts.size == 4 && parts.all? { |part| part.match?(/\A(0|[1-9]\d{0,2})\z/) && part.to_i <= 255 }
end

def parse_args(argv)
  host = nil
  count = 3
  timeout = 1.0
  args = argv.dup
  until args.empty?
    flag = args.shift
    case flag
    when '--help'
      puts USAGE
      exit 0
    when '--host', '--count', '--timeout'
      usage_error("#{flag} needs a value") if args.empty?
      value = args.shift
      case flag
      when '--host'
        # IPv4 only, so an IPv6 address is a bad host too, and we say why.
        usage_error("bad host: #{value} (this ping does IPv4 only, not IPv6)") if value.include?(':')
        usage_error("bad host: #{value}") unless ipv4?(value)
        host = value
      when '--count'
        # A whole number, 1 or more.
        usage_error("bad count: #{value}") unless value.match?(/\A\d+\z/) && value.to_i >= 1
        count = value.to_i
      else
        # Seconds greater than 0: digits, optionally "." and more digits ("1",
        # "0.2"). More than a billion seconds (31 years) is taken as a billion:
        # IO#wait_readable refuses a deadline past the end of time.
        usage_error("bad timeout: #{value}") unless value.match?(/\A\d+(\.\d+)?\z/)
        timeout = [value.to_f, 1e9].min
        usage_error("bad timeout: #{value}") unless timeout.positive?
      end
    when /\A-/
      usage_error("unknown option: #{flag}")
    else
      usage_error("unexpected argument: #{flag}")
    end
  end
  usage_error('--host is required') unless host
  [host, count, timeout]
end

# Report a failure on one stderr line and end the process with status 1.
def die(message)
  warn "ping: #{message}"
  exit 1
end

# The C library's text for an error, as strerror(3) spells it ("Connection
# refused"). Ruby's own message adds where it happened ("Connection refused -
# connect(2) for ..."); SystemCallError.new with just the errno gives the text.
def reason(error)
  error.is_a?(SystemCallError) ? SystemCallError.new(nil, error.errno).message : error.message
end

# A monotonic clock in nanoseconds: it never jumps when someone sets the
# time of day, so differences between two readings are true durations.
def now_ns
  Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond)
end

# ANCHOR: open
# socket(2) with SOCK_RAW (:RAW) and protocol IPPROTO_ICMP: the kernel hands
# this socket a copy of every ICMP packet the host receives, and lets us
# send ICMP messages we built ourselves. (Ruby knows no symbol for ICMP, so
# the number comes from Socket::IPPROTO_ICMP, 1.) Without CAP_NET_RAW the
# kernel refuses with EPERM.
def open_socket
  Socket.new(:INET, :RAW, Socket::IPPROTO_ICMP)
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

# ANCHOR: checksum
# The Internet checksum (RFC 1071), the one IP, ICMP, UDP and TCP all use:
#  1. read the bytes as 16-bit big-endian words, padding an odd last byte
#     with a zero byte;
#  2. add the words up;
#  3. fold the carries back in: whatever overflowed past 16 bits is added to
#     the low 16 bits, again until nothing overflows (this makes it a
#     one's-complement sum, which comes out the same on any byte order);
#  4. invert the bits.
# The sender computes it with the checksum field zero and stores it there.
# The receiver runs the same function over the message as it arrived,
# checksum included: the sum is then 0xffff, so an intact message gives 0.
def checksum(data)
  data += "\0".b if data.bytesize.odd?
  sum = data.unpack('n*').sum
  sum = (sum & 0xffff) + (sum >> 16) while sum > 0xffff
  ~sum & 0xffff
end
# ANCHOR_END: checksum

# ANCHOR: build
# An ICMP echo request, 64 bytes: an 8-byte header and 56 bytes of data.
#   type 8, code 0, checksum, identifier, sequence number -- pack 'CCnnn':
#   C is one byte, n a 16-bit number in network byte order (big-endian);
#   then our send time, 8 bytes big-endian (Q>), and 48 bytes 0x20..0x4f.
# The one who answers copies identifier, sequence number and data into the
# reply unchanged. The identifier says the reply is ours, the sequence
# number which request it answers, and the send time coming back is what
# the round trip is measured against: no table of requests needed.
def echo_request(ident, seq)
  data = [now_ns].pack('Q>') + (0x20..0x4f).to_a.pack('C*')
  message = [ECHO_REQUEST, 0, 0, ident, seq & 0xffff].pack('CCnnn') + data
  # Fill in the checksum: bytes 2 and 3, computed while they were zero.
  message[2, 2] = [checksum(message)].pack('n')
  message
end
# ANCHOR_END: build

# ANCHOR: send
# send with a destination is sendto(2). The destination is a sockaddr_in
# (Socket.sockaddr_in packs one) whose port means nothing here: ICMP has no
# ports. Without the IP_HDRINCL option the kernel writes the IP header --
# protocol 1, our source address, its own checksum -- in front of our
# message. A send that fails (ENETUNREACH: no route to the host) is
# reported on stderr, and false tells the caller there is no reply to wait
# for: the request was lost before it left.
def send_request(sock, host, message)
  sock.send(message, 0, Socket.sockaddr_in(0, host))
  true
rescue SystemCallError => e
  warn "ping: send to #{host}: #{reason(e)}"
  false
end
# ANCHOR_END: send

# ANCHOR: receive
# Wait up to `timeout` seconds for the reply to request `seq`; return the
# reply's source address, length and round trip in ms, or nil.
#
# A raw ICMP socket receives a copy of every ICMP packet that reaches the
# host: other programs' pings and their replies, error messages, and on
# loopback our own echo request too, since it arrives at this very host.
# So we keep reading until the deadline, and ignore everything that is not
# an echo reply carrying our identifier and the sequence number we are
# waiting for (a late reply to an earlier request included).
#
# IO#wait_readable (poll(2) underneath) waits until a packet is there or the
# time left runs out. recvfrom returns one whole IP packet and the sender's
# address. On an IPv4 raw socket the packet starts with the IP header,
# whose length varies: the low 4 bits of its first byte, IHL, count it in
# 32-bit words, so the ICMP message starts IHL * 4 bytes in (20 without
# IP options). The header also holds the source address, in bytes 12..15;
# recvfrom reports the same address.
def await_reply(sock, ident, seq, timeout)
  deadline = now_ns + (timeout * 1e9).to_i
  loop do
    left = (deadline - now_ns) / 1e9
    return nil unless left.positive? && sock.wait_readable(left)

    packet, from = sock.recvfrom(BUFFER_SIZE)
    received = now_ns
    header_length = (packet.getbyte(0) & 0x0f) * 4
    message = packet.byteslice(header_length..) || ''.b
    next if message.bytesize < 16 # header + send time: too short to be ours

    type, _code, _sum, id, sequence = message.unpack('CCnnn')
    next unless type == ECHO_REPLY && id == ident && sequence == (seq & 0xffff)
    # Damaged on the way: drop it like any packet that is not ours.
    next unless checksum(message).zero?

    sent = message.byteslice(8, 8).unpack1('Q>')
    return [from.ip_address, message.bytesize, (received - sent) / 1e6]
  end
end
# ANCHOR_END: receive

def main
  host, count, timeout = parse_args(ARGV)
  # One line at a time, as it happens, even into a pipe.
  $stdout.sync = true
  # Let Ctrl-C end us the way it ends a C program, instead of raising
  # Interrupt and printing a backtrace.
  Signal.trap('INT', 'SYSTEM_DEFAULT')

  # Started with stdout closed (`>&-`), Ruby gives descriptor 1 a pipe that
  # nobody reads (ruby/lib/libc.rb): say so before doing any work.
  die 'stdout: Bad file descriptor' if Libc.nobody_reads?($stdout)

  sock = open_socket
  drop_privileges
  # The identifier: the low 16 bits of our process id, the field's size.
  ident = Process.pid & 0xffff
  received = 0
  begin
    1.upto(count) do |seq|
      sent = send_request(sock, host, echo_request(ident, seq))
      reply = sent && await_reply(sock, ident, seq, timeout)
      if reply
        from, bytes, ms = reply
        received += 1
        puts format('reply from %<from>s: seq=%<seq>d bytes=%<bytes>d time=%<ms>.3f ms',
                    from: from, seq: seq, bytes: bytes, ms: ms)
      else
        puts "no reply from #{host}: seq=#{seq}"
      end
    end
    # Every request counts as sent, even one the kernel refused to send.
    # Loss in whole percent, rounded down.
    puts "#{count} sent, #{received} received, #{(count - received) * 100 / count}% loss"
  ensure
    sock.close
  end
  exit(received == count ? 0 : 1)
rescue Errno::EPIPE, Errno::EBADF, IOError => e
  die "write stdout: #{reason(e)}"
rescue SystemCallError => e
  die "receive from #{host}: #{reason(e)}"
end

main
