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

# Refuse, before any socket exists, a path the kernel could not take whole:
# Ruby would raise, and C's strncpy would silently cut it short. The limit
# is in bytes, so a UTF-8 name may have fewer characters than that.
def check_path(path)
  usage_error('the path is empty') if path.empty?
  name = path.start_with?('@') ? path.byteslice(1..) : path
  usage_error("the abstract name is empty: #{path}") if name.empty?
  return if name.bytesize <= MAX_PATH

  what = path.start_with?('@') ? 'abstract name' : 'path'
  usage_error("the #{what} is #{name.bytesize} bytes, more than the #{MAX_PATH} a socket address can hold")
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
      usage_error("option #{flag} needs a value") if args.empty?
      value = args.shift
      if flag == '--path'
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
  usage_error('missing --path') unless path
  check_path(path)
  [path, mode]
end

# A server that cannot start says why on one line and exits 1.
def die(message)
  warn "dgram_server: #{message}"
  exit 1
end

# Ruby adds detail to the system's message ("Resource temporarily
# unavailable - sendmsg(2) would block", "Address already in use - bind(2)
# for ..."); keep the strerror text.
def reason(error)
  error.message.sub(/ [-@] .*\z/m, '')
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
# The kernel address for --path, a packed struct sockaddr_un: the family
# AF_UNIX, then the path in sun_path. For "@name" it is an abstract address:
# sun_path[0] is a NUL byte, then the name, and no terminating NUL. There
# the address length says where the name ends -- every byte it covers is
# part of the name -- so it must be exactly offsetof(sun_path) + 1 + the
# name's length (7 bytes for "@demo"), not sizeof(struct sockaddr_un): a
# length padded with NULs would name a different socket. Socket.sockaddr_un
# sees the leading NUL and packs exactly that length; for a filesystem path
# it packs the whole 110-byte structure, NUL-terminated.
def unix_address(path)
  Socket.sockaddr_un(abstract?(path) ? "\0#{path.byteslice(1..)}" : path)
end

# bind(2) creates the socket file, with permissions 0777 minus the umask.
# Setting the umask to 077 first makes it 0700 (only we may send to it)
# from the moment it exists; chmod then opens it as far as --mode says. A
# chmod alone would leave a moment in which anybody could send.
def bind_private(sock, addr)
  old_umask = File.umask(0o077)
  begin
    sock.bind(addr)
  ensure
    File.umask(old_umask)
  end
end

# bind failed with EADDRINUSE: a file is already there. It may be the socket
# of a server that crashed before it could remove it -- nothing would ever
# answer there again -- or the socket of a server that is running. Return
# if the file was stale (and is removed now); otherwise refuse to start.
def remove_stale(path)
  # lstat(2), not stat: a symlink is not a socket, whatever it points to.
  # A regular file, a directory, ... is none of our business: leave it.
  begin
    die "#{path}: exists and is not a socket" unless File.lstat(path).socket?
  rescue Errno::ENOENT
    return # removed meanwhile: just bind again
  end

  # The probe: connect a socket of our own type. For a datagram socket
  # connect sends nothing, but the kernel checks that a socket is bound to
  # that file: ECONNREFUSED means none is, the file is stale. Connecting,
  # or any other error (EPROTOTYPE: a live socket of another type), means
  # it is in use.
  probe = Socket.new(:UNIX, :DGRAM, 0)
  begin
    probe.connect(unix_address(path))
  rescue Errno::ECONNREFUSED
    warn "dgram_server: #{path}: removing stale socket file"
    # unlink(2) removes the file's name; bind can then make a new one.
    File.unlink(path)
    return
  rescue SystemCallError
    # in use: refuse, below
  ensure
    probe.close
  end
  die "#{path}: another server is listening there"
end

def bind_to(path, mode)
  addr = unix_address(path)
  # socket(2) with the family AF_UNIX (:UNIX) and the type SOCK_DGRAM:
  # datagrams between processes on this machine.
  sock = Socket.new(:UNIX, :DGRAM, 0)
  removed_stale = false
  begin
    bind_private(sock, addr)
  rescue Errno::EADDRINUSE => e
    # An abstract name in use is always held by a live socket: the kernel
    # frees it when the last socket bound to it closes.
    die "#{path}: another server is listening there" if abstract?(path)
    # Removed a stale file and still in use: someone else was quicker.
    die "bind #{path}: #{reason(e)}" if removed_stale
    remove_stale(path)
    removed_stale = true
    retry
  rescue SystemCallError => e
    die "bind #{path}: #{reason(e)}"
  end

  # chmod(2): sending to a socket file needs write permission on it. An
  # abstract name has no file and no permissions: --mode is ignored. No
  # listen: a datagram socket receives as soon as it is bound.
  begin
    File.chmod(mode, path) unless abstract?(path)
  rescue SystemCallError => e
    File.unlink(path)
    die "#{path}: #{reason(e)}"
  end
  sock
end
# ANCHOR_END: bind

# ANCHOR: echo
# Receive a datagram, send it back to whoever sent it, forever.
#
# recvmsg(2) waits for the next datagram and returns its bytes, the sender's
# address (an Addrinfo), and the flags the kernel set: MSG_TRUNC if the
# datagram was longer than the buffer, whose end the kernel then threw away.
# We drop such a datagram rather than echo a piece of it.
#
# The sender's address is the address its socket is bound to. A socket that
# never bound one is "unnamed": the datagram arrives, but there is no
# address to send an answer to.
#
# The reply is sendmsg(2) to the sender's address, with MSG_DONTWAIT:
# sendmsg_nonblock sets that flag, so if the client's receive queue is full
# (a client that sends and never reads) the call fails with EAGAIN at once
# instead of waiting for room. (Socket#send with MSG_DONTWAIT would not do:
# Ruby waits and retries when a send fails with EAGAIN.) A client that has
# gone fails with ENOENT (its file was removed) or ECONNREFUSED (nobody is
# bound to it). Each of those is logged and the datagram dropped: nothing a
# client does can stop the server.
def echo_loop(sock)
  loop do
    data, peer, flags = sock.recvmsg(BUFFER_SIZE)
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
      warn "dgram_server: #{show(peer)}: send: #{reason(e)}"
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
  # Before the socket exists, so that a signal always finds our handlers.
  trap_stop_signals
  sock = bind_to(path, mode)
  begin
    # ANCHOR: ready
    # getsockname(2) (local_address) is the address we bound: the path as
    # we gave it, or "@name" for an abstract one. A datagram socket can
    # receive as soon as it is bound, so we are ready. Flush the line, or
    # it could sit in our stdout buffer.
    puts "READY #{show(sock.local_address)}"
    $stdout.flush
    # ANCHOR_END: ready
    echo_loop(sock)
  ensure
    sock.close
    remove_socket_file(path)
  end
rescue Stop => e
  warn "dgram_server: stopping on #{e.message}"
rescue SystemCallError, IOError => e
  die reason(e)
end

main
