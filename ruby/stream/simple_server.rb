# simple_server.rb -- the smallest TCP echo server: resolve, socket, bind, listen, and accept one client after another
#
# Usage: ruby ruby/stream/simple_server.rb [--host H] [--port P]
#
# Blocking, single-threaded and without signal handlers on purpose: SIGTERM
# or Ctrl-C kills it, the kernel closes its sockets, and a failed call, even
# one client's reset, ends it with one line. Chapter 2 shows what that
# costs, and echo_server.rb answers it.

require 'socket'
require_relative '../lib/libc'

USAGE = 'usage: simple_server [--host H] [--port P]'
def usage_error = (warn USAGE; exit 2)

# Run one step; if its call fails, say which and why on one line and exit 1.
# (SystemCallError.new with only the errno gives strerror's text, without
# the "- bind(2) for ..." that Ruby's own message adds.)
def step(what)
  yield
rescue SocketError, SystemCallError => e
  why = e.is_a?(SocketError) ? e.message.delete_prefix('getaddrinfo: ') : SystemCallError.new(nil, e.errno).message
  abort "simple_server: #{what}: #{why}"
end

opts = { '--host' => '127.0.0.1', '--port' => '0' } # port 0: the kernel picks one
ARGV.each_slice(2) do |flag, value| # every flag takes a value, so go by pairs
  (puts USAGE; exit) if flag == '--help'
  usage_error unless opts.key?(flag) && value
  opts[flag] = value
end
usage_error unless opts['--port'].match?(/\A\d{1,5}\z/) && opts['--port'].to_i <= 65_535
Signal.trap('INT', 'SYSTEM_DEFAULT') # Ctrl-C kills us, as it does a C program: no backtrace
# Started with stdout closed (`>&-`), Ruby gives descriptor 1 a pipe nobody reads (../lib/libc.rb).
abort 'simple_server: stdout: Bad file descriptor' if Libc.nobody_reads?($stdout)

# ANCHOR: listen
# Addrinfo.getaddrinfo is getaddrinfo(3); AI_PASSIVE asks for addresses to
# listen on, and we take the first.
addr = step('getaddrinfo') do
  Addrinfo.getaddrinfo(opts['--host'], opts['--port'].to_i, nil, :STREAM, nil, Socket::AI_PASSIVE).first
end
# Socket.new is socket(2), then bind(2) and listen(2) one by one. Not
# TCPServer.new or Addrinfo#listen: on Unix both set SO_REUSEADDR for us, and
# this first server goes without it, to show in chapter 2 why it is needed.
server = step('socket') { Socket.new(addr.afamily, :STREAM) }
step('bind') { server.bind(addr) }
step('listen') { server.listen(Socket::SOMAXCONN) }
# ANCHOR_END: listen

# ANCHOR: ready
# local_address is getsockname(2): with --port 0, the port the kernel chose.
puts "READY #{server.local_address.inspect_sockaddr}"
$stdout.flush
# ANCHOR_END: ready

# ANCHOR: serve
loop do
  # accept(2) waits for the next client and returns a socket for it.
  conn, = step('accept') { server.accept }
  begin
    # copy_stream reads whatever has arrived and writes it back, until the
    # client half-closes. One client at a time; the next waits in the queue.
    step('echo') { IO.copy_stream(conn, conn) }
  ensure
    conn.close
  end
end
# ANCHOR_END: serve
