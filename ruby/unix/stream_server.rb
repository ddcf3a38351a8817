# stream_server.rb -- a Unix-domain stream echo server: AF_UNIX, a socket file with permissions, stale files and the abstract namespace
#
# Usage: ruby ruby/unix/stream_server.rb --path P [--mode M]
#
# The TCP echo server (ruby/stream/echo_server.rb) over a Unix-domain
# socket: the address is a file name instead of a host and port, and the
# peers are processes on the same machine. It sends back every byte a client
# sends until the client half-closes, then serves the next client. A path
# that starts with "@" names a socket in Linux's abstract namespace, which
# has no file. SIGTERM or SIGINT stops it with exit status 0 and removes the
# socket file.

require 'socket'
require_relative '../lib/libc'

USAGE = 'usage: stream_server --path P [--mode M]'
CHUNK = 65_536 # read at most 64 KiB at a time

# sun_path, where struct sockaddr_un keeps the path, is 108 bytes, and a
# portable filesystem path ends with a NUL there: 107 bytes of path at most.
# An abstract name gets the same limit after its "@".
MAX_PATH = 107

# A bad command line: say what is wrong, then the usage, both on stderr.
def usage_error(message)
  warn "stream_server: #{message}"
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
  mode = 0o600 # only the owner may connect
  args = argv.dup
  until args.empty?
    flag = args.shift
    case flag
    when '--help'
      puts USAGE
      exit 0
    when '--path', '--mode'
      usage_error("#{flag} needs a value") if args.empty?
      value = args.shift
      if flag == '--path'
        check_path(value)
        path = value
      else
        # Permission bits, exactly three octal digits: 600, 660, 666.
        usage_error("bad mode: #{value}") unless value.match?(/\A[0-7]{3}\z/)
        mode = value.to_i(8)
      end
    when /\A-/
      usage_error("unknown option: #{flag}")
    else
      usage_error("unexpected argument: #{flag}")
    end
  end
  usage_error('--path is required') unless path
  [path, mode]
end

# A server that cannot start says why on one line and exits 1.
def die(message)
  warn "stream_server: #{message}"
  exit 1
end

# Run the block; a system call that fails in it ends the server with one
# line saying what we were doing.
def step(what)
  yield
rescue SystemCallError => e
  die "#{what}: #{reason(e)}"
end

# The C library's text for an error, as strerror(3) spells it ("Connection
# refused"). Ruby's own message adds where it happened ("Connection refused -
# connect(2) for ..."); SystemCallError.new with just the errno gives the text.
def reason(error)
  error.is_a?(SystemCallError) ? SystemCallError.new(nil, error.errno).message : error.message
end

def abstract?(path)
  path.start_with?('@')
end

# An Addrinfo as text: its path, "@name" for an abstract name, or "unnamed"
# for a socket that never bound an address (the usual stream client): the
# kernel then reports no more than the address family, or an empty path.
def show(addr)
  raw = addr.to_sockaddr
  return 'unnamed' if raw.bytesize <= 2 # sizeof(sa_family_t): no path at all

  path = addr.unix_path
  return 'unnamed' if path.empty?

  path = path.start_with?("\0") ? "@#{path.byteslice(1..)}" : path
  path.force_encoding(Encoding::UTF_8)
end

# ANCHOR: probe
# bind failed with EADDRINUSE: remove a stale socket file, or refuse to start.
def remove_stale(path)
  # lstat(2), not stat: a symlink is not a socket, whatever it points to.
  stat = step("lstat #{path}") { File.lstat(path) }
  die "#{path}: exists and is not a socket" unless stat.socket?
  # The probe: a socket of our own type, refused only if nobody listens.
  probe = step('socket') { Socket.new(:UNIX, :STREAM, 0) }
  begin
    probe.connect(unix_address(path))
  rescue Errno::ECONNREFUSED
    warn "stream_server: #{path}: removing stale socket file"
    step("unlink #{path}") { File.unlink(path) }
    return
  rescue SystemCallError
    # connected, or EPROTOTYPE (a live socket of another type): in use
  ensure
    probe.close
  end
  die "#{path}: another server is listening there"
end
# ANCHOR_END: probe

# ANCHOR: bind
# The kernel address for --path, a packed struct sockaddr_un. For "@name"
# sun_path is a NUL byte, then the name; Socket.sockaddr_un sees the NUL and
# packs exactly that length, with no trailing NUL or padding.
def unix_address(path)
  Socket.sockaddr_un(abstract?(path) ? "\0#{path.byteslice(1..)}" : path)
end

# bind(2) creates the socket file with mode 0777 minus the umask: with the
# umask at 077 it is born owner-only, and chmod opens it up afterwards.
def bind_private(sock, addr)
  old_umask = File.umask(0o077)
  begin
    sock.bind(addr)
  ensure
    File.umask(old_umask)
  end
end

def listen_on(path, mode)
  addr = unix_address(path)
  # socket(2) with the family AF_UNIX (:UNIX): addresses are names on this machine.
  sock = step('socket') { Socket.new(:UNIX, :STREAM, 0) }
  removed_stale = false
  begin
    bind_private(sock, addr)
  rescue Errno::EADDRINUSE => e
    # An abstract name in use is always held by a live socket.
    die "#{path}: another server is listening there" if abstract?(path)
    die "bind #{path}: #{reason(e)}" if removed_stale # someone else was quicker
    remove_stale(path)
    removed_stale = true
    retry
  rescue SystemCallError => e
    die "bind #{path}: #{reason(e)}"
  end
  # ANCHOR_END: bind
  # ANCHOR: listen
  begin
    # chmod(2) says who may connect; an abstract name has no file to chmod.
    File.chmod(mode, path) unless abstract?(path)
    # listen(2): as for TCP, the kernel queues connections for accept.
    sock.listen(Socket::SOMAXCONN)
  rescue SystemCallError => e
    File.unlink(path) unless abstract?(path)
    die "listen on #{path}: #{reason(e)}"
  end
  sock
end
# ANCHOR_END: listen

# ANCHOR: echo
# Serve one client: read whatever has arrived and write it straight back.
# readpartial returns as soon as some bytes are there (up to CHUNK) and
# raises EOFError when the client has half-closed and we have read it all.
# write loops until the whole string is sent. If the client never reads,
# write blocks once the socket's buffer is full, just as over TCP.
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
    # accept(2) waits for the next connection and returns a new socket for
    # it, plus the client's address -- usually none: a client that only
    # connects never binds a name, and shows as "unnamed".
    conn, peer = begin
      server.accept
    rescue SystemCallError => e
      warn "stream_server: accept: #{reason(e)}" # this connection is lost, not the server
      next
    end
    begin
      warn "stream_server: connection from #{show(peer)}"
      echoed = echo(conn)
      warn "stream_server: #{show(peer)}: closed, #{echoed} bytes echoed"
    rescue SystemCallError, IOError => e
      # A client that resets the connection or vanishes mid-transfer makes
      # read or write fail (ECONNRESET, EPIPE; Ruby ignores SIGPIPE). It is
      # this client's problem only: log it and serve the next.
      warn "stream_server: #{show(peer)}: #{reason(e)}"
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
# even while that thread is blocked in accept or read. Raising Stop there
# unwinds the stack through every `ensure`, closing the client's socket and
# the listening socket and removing the socket file; main rescues it and
# returns, and the process exits with status 0. A second signal during
# that cleanup is ignored, so that it cannot cut the cleanup short.
def trap_stop_signals
  stopping = false
  %w[TERM INT].each do |name|
    Signal.trap(name) do
      next if stopping

      stopping = true
      raise Stop, "SIG#{name}"
    end
  end
end

# Closing a socket does not remove its file: the name stays in the
# directory, and the next bind there fails with EADDRINUSE. So a server
# unlinks the file it bound when it stops (the stale-file probe above is
# for one that crashed and could not). An abstract name has no file: it is
# gone as soon as the socket is closed.
def remove_socket_file(path)
  File.unlink(path) unless abstract?(path)
rescue SystemCallError
  # Already gone: nothing to do.
end
# ANCHOR_END: stop

def main
  path, mode = parse_args(ARGV)
  # Started with stdout closed (`>&-`), Ruby gives descriptor 1 a pipe that
  # nobody reads (ruby/lib/libc.rb): READY would never arrive. Say so now.
  die 'stdout: Bad file descriptor' if Libc.nobody_reads?($stdout)
  # Before the socket exists, so that a signal always finds our handlers.
  trap_stop_signals
  server = listen_on(path, mode)
  begin
    # ANCHOR: ready
    # getsockname(2) (local_address) is the address we bound: the path as
    # we gave it, or "@name" for an abstract one. The READY line tells
    # whoever started us that clients can connect now; flush it, or it
    # could sit in our stdout buffer.
    step('write stdout') do
      puts "READY #{show(server.local_address)}"
      $stdout.flush
    end
    # ANCHOR_END: ready
    accept_loop(server)
  ensure
    server.close
    remove_socket_file(path)
  end
rescue Stop => e
  warn "stream_server: stopping on #{e.message}"
end

main
