# dgram_server.rb -- a Unix-domain datagram echo server: recvmsg, the sender's address, and replies that never block
#
# Usage: ruby ruby/unix/dgram_server.rb --path P [--mode M]
#
# The UDP echo server (ruby/datagram/echo_server.rb) over a Unix-domain
# datagram socket: it answers every datagram with an identical one sent to
# the sender's address. A path that starts with "@" names a socket in
# Linux's abstract namespace, which has no file. SIGTERM or SIGINT stops it
# with exit status 0 and removes the socket file.
#
# Unix-domain datagrams keep UDP's message boundaries but not its
# unreliability: they never get lost, duplicated or reordered, because they
# never leave the kernel. Two things differ in return. A sender can only be
# answered if it has bound an address of its own (see dgram_client.rb).
# And a datagram that does not fit in the receiver's queue is not dropped:
# the sender waits until it fits. A server must not wait for a client that
# does not read, so this one sends its replies without waiting.

require 'socket'
require_relative '../lib/libc'

USAGE = 'usage: dgram_server --path P [--mode M]'

# The receive buffer: the largest datagram this example handles (the client
# sends at most this much).
BUFFER_SIZE = 65_536

# sun_path, where struct sockaddr_un keeps the path, is 108 bytes, and a
# portable filesystem path ends with a NUL there: 107 bytes of path at most.
# An abstract name gets the same limit after its "@".
MAX_PATH = 107

# A bad command line: say what is wrong, then the usage, both on stderr.
def usage_error(message)
  warn "dgram_server: #{message}"
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
  mode = 0o600 # only the owner may send to us
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
  warn "dgram_server: #{message}"
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
# for a socket that never bound an address: the kernel then reports no
# more than the address family (or, for a datagram's sender, nothing at
# all), or an empty path.
def show(addr)
  raw = addr.to_sockaddr
  return 'unnamed' if raw.bytesize <= 2 # sizeof(sa_family_t): no path at all

  path = addr.unix_path
  return 'unnamed' if path.empty?

  path = path.start_with?("\0") ? "@#{path.byteslice(1..)}" : path
  path.force_encoding(Encoding::UTF_8)
end

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

# bind failed with EADDRINUSE: remove a stale socket file, or refuse to start.
def remove_stale(path)
  # lstat(2), not stat: a symlink is not a socket, whatever it points to.
  stat = step("lstat #{path}") { File.lstat(path) }
  die "#{path}: exists and is not a socket" unless stat.socket?
  # The probe: a socket of our own type, refused only if nobody is bound there.
  probe = step('socket') { Socket.new(:UNIX, :DGRAM, 0) }
  begin
    probe.connect(unix_address(path))
  rescue Errno::ECONNREFUSED
    warn "dgram_server: #{path}: removing stale socket file"
    step("unlink #{path}") { File.unlink(path) }
    return
  rescue SystemCallError
    # connected, or EPROTOTYPE (a live socket of another type): in use
  ensure
    probe.close
  end
  die "#{path}: another server is listening there"
end

def bind_to(path, mode)
  addr = unix_address(path)
  # AF_UNIX (:UNIX) with SOCK_DGRAM: datagrams between processes on this machine.
  sock = step('socket') { Socket.new(:UNIX, :DGRAM, 0) }
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
  begin
    # chmod(2) says who may send to us; an abstract name has no file to chmod.
    File.chmod(mode, path) unless abstract?(path)
    # No listen: a datagram socket receives as soon as it is bound.
  rescue SystemCallError => e
    File.unlink(path) unless abstract?(path)
    die "chmod #{path}: #{reason(e)}"
  end
  sock
end
# ANCHOR_END: bind

# ANCHOR: echo
# Receive a datagram, send it back to whoever sent it, forever.
#
# recvmsg(2) returns the datagram's bytes, the sender's address (an
# Addrinfo) and the flags the kernel set: MSG_TRUNC if the datagram did not
# fit and was cut short. We drop such a datagram rather than echo a piece.
#
# The reply is sendmsg(2) with MSG_DONTWAIT, which sendmsg_nonblock sets: a
# client whose queue is full makes it fail with EAGAIN at once. (Socket#send
# with MSG_DONTWAIT would not do: Ruby waits and retries after EAGAIN.) That,
# or a client that has gone (ENOENT, ECONNREFUSED), loses this reply only.
def echo_loop(sock)
  loop do
    data, peer, flags = begin
      sock.recvmsg(BUFFER_SIZE)
    rescue SystemCallError => e
      warn "dgram_server: recvmsg: #{reason(e)}"
      next
    end
    if flags & Socket::MSG_TRUNC != 0
      warn "dgram_server: #{show(peer)}: datagram longer than #{BUFFER_SIZE} bytes, dropped"
      next
    end
    if show(peer) == 'unnamed'
      warn "dgram_server: #{data.bytesize} bytes from unnamed: no address to reply to"
      next
    end
    warn "dgram_server: #{data.bytesize} bytes from #{show(peer)}"
    begin
      sock.sendmsg_nonblock(data, 0, peer)
    rescue SystemCallError => e
      warn "dgram_server: #{show(peer)}: #{reason(e)}"
    end
  end
end
# ANCHOR_END: echo

# ANCHOR: stop
# What the signal handlers raise. It derives from Exception, not
# StandardError, so no `rescue` meant for socket errors catches it.
class Stop < Exception; end

# Ruby runs a trap block in the main thread as soon as the signal arrives,
# even while that thread is blocked in recvmsg. Raising Stop there unwinds
# the stack through `ensure`, closing the socket and removing the socket
# file; main rescues it and returns, and the process exits with status 0.
# A second signal during that cleanup is ignored, so that it cannot cut
# the cleanup short.
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
  sock = bind_to(path, mode)
  begin
    # ANCHOR: ready
    # getsockname(2) (local_address) is the address we bound: the path as
    # we gave it, or "@name" for an abstract one. A datagram socket can
    # receive as soon as it is bound, so we are ready. Flush the line, or
    # it could sit in our stdout buffer.
    step('write stdout') do
      puts "READY #{show(sock.local_address)}"
      $stdout.flush
    end
    # ANCHOR_END: ready
    echo_loop(sock)
  ensure
    sock.close
    remove_socket_file(path)
  end
rescue Stop => e
  warn "dgram_server: stopping on #{e.message}"
end

main
