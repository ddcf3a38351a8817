# dgram_client.rb -- a Unix-domain datagram echo client: binding an address of its own, connect, a receive timeout, and cleaning up
#
# Usage: ruby ruby/unix/dgram_client.rb --path P [--timeout S]
#
# It sends all of stdin as one datagram to the server at --path ("@name" for
# Linux's abstract namespace) and writes the echo to stdout. A Unix-domain
# datagram is never lost, so unlike the UDP client there are no retries;
# the timeout (--timeout, default 1 second) only guards against a server
# that is there but does not answer. Any failure: one line on stderr and
# exit status 1.
#
# The one new step is that the client binds a socket file of its own before
# it sends, and must remove that file again however it ends.

require 'io/wait'
require 'socket'
require_relative '../lib/libc'

USAGE = 'usage: dgram_client --path P [--timeout S]'

# The largest datagram this example sends (and so the largest echo).
MAX_DATAGRAM = 65_536

# sun_path, where struct sockaddr_un keeps the path, is 108 bytes, and a
# portable filesystem path ends with a NUL there: 107 bytes of path at most.
# An abstract name gets the same limit after its "@".
MAX_PATH = 107

# A bad command line: say what is wrong, then the usage, both on stderr.
def usage_error(message)
  warn "dgram_client: #{message}"
  warn USAGE
  exit 2
end

# Refuse, before any socket exists, a path the kernel could not take whole
# (C's strncpy would silently cut it short). The limit is in bytes, after
# any "@", so a UTF-8 name may have fewer characters than that.
def check_path(path)
  usage_error('--path is empty') if path.empty?
  name = path.start_with?('@') ? path.byteslice(1..) : path
  usage_error('--path needs a name after the @') if name.empty?
  return if name.bytesize <= MAX_PATH

  usage_error("--path is #{name.bytesize} bytes; a socket address holds at most #{MAX_PATH}")
end

def parse_args(argv)
  path = nil
  timeout = 1.0
  args = argv.dup
  until args.empty?
    flag = args.shift
    case flag
    when '--help'
      puts USAGE
      exit 0
    when '--path', '--timeout'
      usage_error("#{flag} needs a value") if args.empty?
      value = args.shift
      if flag == '--path'
        check_path(value)
        path = value
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
  usage_error('--path is required') unless path
  [path, timeout]
end

# Report a failure on one stderr line and end the process with status 1.
# exit raises SystemExit, so the `ensure` in main still runs on the way out
# and removes our socket file.
def die(message)
  warn "dgram_client: #{message}"
  exit 1
end

# The C library's text for an error, as strerror(3) spells it ("Connection
# refused"). Ruby's own message adds where it happened ("Connection refused -
# connect(2) for ..."); SystemCallError.new with just the errno gives the text.
def reason(error)
  error.is_a?(SystemCallError) ? SystemCallError.new(nil, error.errno).message : error.message
end

# The kernel address for a path, a packed struct sockaddr_un: the family
# AF_UNIX, then the path in its 108-byte sun_path. For "@name", an abstract
# address: a NUL byte, then the name, with the address length counting
# exactly those bytes (offsetof(sun_path) + 1 + the name's length), because
# the kernel takes every byte the length covers as part of the name.
# Socket.sockaddr_un sees the leading NUL and packs exactly that length.
def unix_address(path)
  Socket.sockaddr_un(path.start_with?('@') ? "\0#{path.byteslice(1..)}" : path)
end

# ANCHOR: bind
# Our own address: $TMPDIR (or /tmp) and our process id, which no other
# running process shares.
def own_path
  dir = ENV.fetch('TMPDIR', '')
  dir = '/tmp' if dir.empty?
  "#{dir}/dgram_client.#{Process.pid}.sock"
end

# A datagram socket that has not bound an address is "unnamed": its
# datagrams arrive without a sender's address, and the server has nowhere
# to send its reply. (A TCP or UDP client gets an address and port from the
# kernel without asking; an AF_UNIX one does not.) So we bind a file of our
# own before we send. A file left there by an earlier process with our pid
# that was killed before it could clean up would make bind fail with
# EADDRINUSE, so we remove it first.
def bind_own(sock, own)
  if own.bytesize > MAX_PATH
    die "bind #{own}: #{own.bytesize} bytes is more than the #{MAX_PATH} a socket address holds"
  end
  begin
    File.unlink(own)
  rescue Errno::ENOENT
    # nothing left over: the usual case
  rescue SystemCallError => e
    die "remove #{own}: #{reason(e)}"
  end
  # bind(2) creates the file. The server needs write permission on it to
  # send us the reply; with the usual umask that is its owner, our user.
  sock.bind(unix_address(own))
rescue SystemCallError => e
  die "bind #{own}: #{reason(e)}"
end
# ANCHOR_END: bind

# ANCHOR: connect
# connect(2) on a datagram socket sends nothing. It checks that a socket is
# bound at the server's address (no file: ENOENT; a file nobody has bound
# any more: ECONNREFUSED; no write permission on it: EACCES), makes it the
# destination of every send, and from then on the kernel delivers to us
# only datagrams sent from that address.
def connect_to(sock, path)
  sock.connect(unix_address(path))
rescue SystemCallError => e
  die "connect to #{path}: #{reason(e)}"
end
# ANCHOR_END: connect

# ANCHOR: send
# send on a connected datagram socket sends one datagram, all of it or
# nothing; an empty payload makes an empty datagram. If the server's
# receive queue is full, send waits until there is room: over AF_UNIX the
# kernel never drops a datagram.
def send_datagram(sock, path, payload)
  sock.send(payload, 0)
rescue SystemCallError => e
  die "send to #{path}: #{reason(e)}"
end
# ANCHOR_END: send

# ANCHOR: receive
# Wait up to `timeout` seconds for the echo and return it. IO#wait_readable
# (from io/wait; poll(2) underneath) returns as soon as a datagram is there,
# or nil when the time is up. recv then returns that whole datagram.
def receive_reply(sock, path, timeout)
  die "no reply from #{path} within #{format('%g', timeout)} s" unless sock.wait_readable(timeout)
  sock.recv(MAX_DATAGRAM)
rescue SystemCallError => e
  die "receive from #{path}: #{reason(e)}"
end
# ANCHOR_END: receive

# ANCHOR: cleanup
# A socket file outlives its socket: closing the socket leaves the file
# behind, and nothing else would ever remove it. unlink(2) does.
def remove_own(sock, own)
  sock.close
  File.unlink(own)
rescue SystemCallError
  # Already gone: nothing to do.
end
# ANCHOR_END: cleanup

def main
  path, timeout = parse_args(ARGV)
  # Bytes in, bytes out: no encoding conversion, no newline translation.
  $stdin.binmode
  $stdout.binmode
  # On SIGTERM Ruby raises SignalException in the main thread, so `ensure`
  # blocks run, and then ends the process by that signal. On SIGINT it
  # raises Interrupt, which does the same but prints a backtrace; raising a
  # plain SignalException instead makes Ctrl-C end us quietly, and still
  # removes our socket file on the way.
  Signal.trap('INT') { raise SignalException, 'INT' }

  # Started with stdout closed (`>&-`), Ruby gives descriptor 1 a pipe that
  # nobody reads (ruby/lib/libc.rb): say so before doing any work.
  die 'stdout: Bad file descriptor' if Libc.nobody_reads?($stdout)

  # The whole of stdin is one datagram, so read it all first, and refuse
  # what this example will not send before creating anything.
  payload = $stdin.read
  if payload.bytesize > MAX_DATAGRAM
    warn "dgram_client: #{payload.bytesize} bytes is more than the #{MAX_DATAGRAM} this example sends"
    exit 2
  end

  # socket(2) with AF_UNIX (:UNIX) and SOCK_DGRAM.
  sock = Socket.new(:UNIX, :DGRAM, 0)
  own = own_path
  bind_own(sock, own)
  # From here on, every way out -- the reply written, die, a signal --
  # passes through this `ensure` and removes our file.
  begin
    connect_to(sock, path)
    send_datagram(sock, path, payload)
    reply = receive_reply(sock, path, timeout)
    begin
      $stdout.write(reply)
      $stdout.flush
    rescue SystemCallError, IOError => e
      die "write stdout: #{reason(e)}"
    end
  ensure
    remove_own(sock, own)
  end
end

main
