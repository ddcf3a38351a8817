# select_server.rb -- a concurrent TCP echo server: one thread, IO.select over every socket, non-blocking reads and writes
#
# Usage: ruby ruby/concurrency/select_server.rb [--host H] [--port P]
#
# One loop asks IO.select which sockets are ready, then does only what
# cannot block: accept on a readable listening socket, read_nonblock on a
# readable connection, write_nonblock on a writable one. Each connection
# keeps its unsent echo in a buffer of at most 1 MiB. A signal reaches the
# loop through a pipe; a stop closes every socket and exits 0.
#
# IO.select past 1,024 descriptors: C's fd_set holds only FD_SETSIZE
# (1,024) of them, but Ruby 3.1 (Debian 12's included) gives select(2)
# (pselect6 on Linux) fd sets of its own that grow to the highest
# descriptor, so a socket numbered 1,024 or more works (tried here with
# 2,000 clients). Each call still costs time in proportion to the highest
# descriptor number and the sets are rebuilt every time: poll and epoll
# (chapter 6's C servers) are how to go further.

require_relative 'common'

LIMIT = 1 << 20 # at most 1 MiB of unsent echo per connection
PAUSE = 0.1 # seconds without accepting after running out of descriptors

# One client: its socket, its name, the bytes read but not yet sent back,
# how many have been sent, and whether it has half-closed.
Conn = Struct.new(:sock, :peer, :pending, :echoed, :eof)

# ANCHOR: accept
# The listening socket is readable: accept every client that is queued.
# accept_nonblock returns the client's socket and address (an Addrinfo),
# or :wait_readable instead of blocking when no client is left.
def accept_all(server, conns)
  loop do
    sock, addr = server.accept_nonblock(exception: false)
    return true if sock == :wait_readable

    peer = Common.show(addr)
    conns[sock] = Conn.new(sock, peer, String.new, 0, false)
    Common.log "connection from #{peer}"
  end
rescue Errno::EMFILE, Errno::ENFILE => e
  # Out of descriptors: the client stays queued. The caller leaves the
  # listening socket out of the select for PAUSE, or the loop would spin.
  Common.log "accept: #{Common.reason(e)}"
  false
rescue SystemCallError => e
  Common.log "accept: #{Common.reason(e)}"
  true
end
# ANCHOR_END: accept

# ANCHOR: echo
# The socket is readable: take what has arrived, no more than fits in the
# buffer. read_nonblock returns nil at end of file (the client half-closed)
# and :wait_readable if there was nothing after all.
def read_some(conn)
  data = conn.sock.read_nonblock([Common::CHUNK, LIMIT - conn.pending.bytesize].min, exception: false)
  if data.nil?
    conn.eof = true
  elsif data != :wait_readable
    conn.pending << data
  end
end

# Send what the kernel will take now; write_nonblock returns how many bytes
# that was, or :wait_writable if its buffer is full.
def write_some(conn)
  return if conn.pending.empty?

  sent = conn.sock.write_nonblock(conn.pending, exception: false)
  return if sent == :wait_writable

  conn.pending.slice!(0, sent) # read_nonblock's strings are binary: bytes
  conn.echoed += sent
end

# Read if the socket is readable, then send what is pending, and say
# whether the connection is finished: half-closed with everything sent
# back. A failure (a reset, a vanished client) finishes it too, logged.
def serve(conn, readable)
  read_some(conn) if readable
  write_some(conn) # at once after a read: usually it all goes
  return false unless conn.eof && conn.pending.empty?

  Common.log "#{conn.peer}: closed, #{conn.echoed} bytes echoed"
  true
rescue SystemCallError, IOError => e
  Common.log "#{conn.peer}: #{Common.reason(e)}"
  true
end
# ANCHOR_END: echo

# ANCHOR: loop
# The read set: the listening socket (unless accepting is paused), the
# signal pipe, and every connection that has not half-closed and has room
# in its buffer: a full one is left out until it has sent some, and the
# kernel then makes its client wait (backpressure). The write set: only
# the connections with echo pending, or select would wake at once, always.
def event_loop(server, signals)
  conns = {}.compare_by_identity
  paused_until = nil
  loop do
    now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    paused_until = nil if paused_until && now >= paused_until
    reads = conns.each_value.reject { |c| c.eof || c.pending.bytesize >= LIMIT }.map(&:sock)
    reads << signals
    reads << server unless paused_until
    writes = conns.each_value.reject { |c| c.pending.empty? }.map(&:sock)
    # select(2): wait until some of these are ready, or the pause is over;
    # IO.select returns the ready ones, by set, or nil at the timeout.
    readable, writable = IO.select(reads, writes, nil, paused_until && paused_until - now)
    next unless readable # the pause is over: accept again

    return [conns, signals.read_nonblock(64).lines.first.chomp] if readable.include?(signals)

    paused_until = now + PAUSE if readable.include?(server) && !accept_all(server, conns)
    [[readable, true], [writable, false]].each do |socks, reading|
      socks.each do |sock|
        conn = conns[sock] or next # the listening socket, or closed already
        conns.delete(sock).sock.close if serve(conn, reading)
      end
    end
  end
end
# ANCHOR_END: loop

# ANCHOR: stop
# A trap block runs in the main thread between two Ruby steps, which here
# is usually inside IO.select; it only writes the signal's name into a
# pipe whose other end is in the read set, so the loop wakes and stops.
def trap_stop_signals
  reader, writer = IO.pipe
  %w[TERM INT].each do |name|
    Signal.trap(name) { writer.write_nonblock("SIG#{name}\n", exception: false) }
  end
  reader
end

def shut_down(server, conns, signal)
  conns.each_key(&:close)
  server.close
  Common.log "stopping on #{signal}"
end
# ANCHOR_END: stop

def main
  host, port = Common.parse_args('select_server', ARGV)
  signals = trap_stop_signals # before the socket exists, so a signal finds it
  Common.raise_nofile_limit
  server = Common.listen(host, port)
  Common.ready(server)
  conns, signal = event_loop(server, signals)
  shut_down(server, conns, signal)
end

main
