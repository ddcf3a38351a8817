# stream_client.rb -- a Unix-domain stream echo client: connect to a socket file or an abstract name, send and receive at the same time
#
# Usage: ruby ruby/unix/stream_client.rb --path P
#
# The TCP echo client (ruby/stream/echo_client.rb) over a Unix-domain
# socket: it connects to the socket named by --path ("@name" for Linux's
# abstract namespace), sends stdin, half-closes when stdin ends, and copies
# everything the server sends back to stdout until the server closes. Any
# failure: one line on stderr and exit status 1.

require 'socket'
require_relative '../lib/libc'

USAGE = 'usage: stream_client --path P'
CHUNK = 65_536 # read at most 64 KiB at a time

# sun_path, where struct sockaddr_un keeps the path, is 108 bytes, and a
# portable filesystem path ends with a NUL there: 107 bytes of path at most.
# An abstract name gets the same limit after its "@".
MAX_PATH = 107

# A bad command line: say what is wrong, then the usage, both on stderr.
def usage_error(message)
  warn "stream_client: #{message}"
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
  args = argv.dup
  until args.empty?
    flag = args.shift
    case flag
    when '--help'
      puts USAGE
      exit 0
    when '--path'
      usage_error("#{flag} needs a value") if args.empty?
      path = args.shift
      check_path(path)
    when /\A-/
      usage_error("unknown option: #{flag}")
    else
      usage_error("unexpected argument: #{flag}")
    end
  end
  usage_error('--path is required') unless path
  path
end

# Report a failure on one stderr line and end the process with status 1.
# Both threads can fail at once (a reset breaks sending and receiving), so
# a mutex lets only the first one speak; exit! then ends the whole process
# on the spot, whichever thread calls it.
FAILURE = Mutex.new
def die(message)
  FAILURE.synchronize do
    warn "stream_client: #{message}"
    exit! 1
  end
end

# The C library's text for an error, as strerror(3) spells it ("Connection
# refused"). Ruby's own message adds where it happened ("Connection refused -
# connect(2) for ..."); SystemCallError.new with just the errno gives the text.
def reason(error)
  error.is_a?(SystemCallError) ? SystemCallError.new(nil, error.errno).message : error.message
end

# ANCHOR: connect
# The kernel address for --path, a packed struct sockaddr_un: the family
# AF_UNIX, then the path in its 108-byte sun_path. For "@name", an abstract
# address: a NUL byte, then the name, with the address length counting
# exactly those bytes (offsetof(sun_path) + 1 + the name's length), because
# the kernel takes every byte the length covers as part of the name.
# Socket.sockaddr_un sees the leading NUL and packs exactly that length.
def unix_address(path)
  Socket.sockaddr_un(path.start_with?('@') ? "\0#{path.byteslice(1..)}" : path)
end

def connect_to(path)
  # socket(2) with the family AF_UNIX (:UNIX): addresses are names on this
  # machine. No getaddrinfo: there is nothing to resolve.
  sock = Socket.new(:UNIX, :STREAM, 0)
  begin
    # connect(2) to the server's socket. No file there: ENOENT. A file
    # nobody listens on any more (a crashed server's): ECONNREFUSED. A
    # file we have no write permission on: EACCES. We bind no address of
    # our own, so the server sees us as "unnamed".
    sock.connect(unix_address(path))
  rescue SystemCallError => e
    sock.close
    die "connect to #{path}: #{reason(e)}"
  end
  sock
end
# ANCHOR_END: connect

# ANCHOR: send
# A second thread copies stdin to the socket, then half-closes.
# IO.copy_stream reads stdin and writes the socket in a loop until stdin
# ends. shutdown(SHUT_WR) then tells the server we are done (its read
# returns end-of-file) while our receiving side stays open for the rest of
# the echo. (close_write does the same but ignores errors; shutdown raises
# if the connection is already gone.)
def start_sender(sock, path)
  Thread.new do
    IO.copy_stream($stdin, sock)
    sock.shutdown(:WR)
  rescue StandardError => e
    # An exception left to escape a thread makes Ruby print a backtrace,
    # so the thread reports its own failure.
    die "send to #{path}: #{reason(e)}"
  end
end
# ANCHOR_END: send

# ANCHOR: receive
# Runs in the main thread, at the same time as the sender, so that neither
# side's buffers fill up. readpartial returns as soon as some bytes have
# arrived (up to CHUNK) and raises EOFError once the server has closed and
# we have read everything.
def receive_all(sock, path)
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
  die "receive from #{path}: #{reason(e)}"
end
# ANCHOR_END: receive

def main
  path = parse_args(ARGV)
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

  sock = connect_to(path)
  sender = start_sender(sock, path)
  receive_all(sock, path)
  # The server closes only after our end-of-file, so the sender is done or
  # just finishing; wait for it, as it may still report a failure.
  sender.join
  # (A failure never gets here: die exits, and the kernel closes the socket.)
  sock.close
end

main
