# simple_client.rb -- the smallest TCP echo client: resolve, connect, send all of stdin, half-close, read the echo
#
# Usage: ruby ruby/stream/simple_client.rb [--host H] --port P
#
# It sends everything before it reads anything, which works only while the
# echo fits in the socket buffers: chapter 2 shows the deadlock past that,
# and echo_client.rb receives on a second thread to avoid it.

require 'socket'
require_relative '../lib/libc'

USAGE = 'usage: simple_client [--host H] --port P'
def usage_error = (warn USAGE; exit 2)

# Run one step; if its call fails, say which and why on one line and exit 1.
# (SystemCallError.new with only the errno gives strerror's text, without
# the "- connect(2) for ..." that Ruby's own message adds.)
def step(what)
  yield
rescue SocketError, SystemCallError => e
  why = e.is_a?(SocketError) ? e.message.delete_prefix('getaddrinfo: ') : SystemCallError.new(nil, e.errno).message
  abort "simple_client: #{what}: #{why}"
end

opts = { '--host' => '127.0.0.1', '--port' => nil }
ARGV.each_slice(2) do |flag, value| # every flag takes a value, so go by pairs
  (puts USAGE; exit) if flag == '--help'
  usage_error unless opts.key?(flag) && value
  opts[flag] = value
end
usage_error unless opts['--port']&.match?(/\A\d{1,5}\z/) && opts['--port'].to_i.between?(1, 65_535)
Signal.trap('INT', 'SYSTEM_DEFAULT') # Ctrl-C kills us, as it does a C program: no backtrace
# Started with stdout closed (`>&-`), Ruby gives descriptor 1 a pipe nobody reads (../lib/libc.rb).
abort 'simple_client: stdout: Bad file descriptor' if Libc.nobody_reads?($stdout)
# Bytes in, bytes out: no encoding conversion, no newline translation.
$stdin.binmode
$stdout.binmode

# ANCHOR: connect
# Addrinfo.getaddrinfo is getaddrinfo(3); we take the first address.
addr = step('getaddrinfo') { Addrinfo.getaddrinfo(opts['--host'], opts['--port'].to_i, nil, :STREAM).first }
# Addrinfo#connect makes a socket(2) of the address's family and connect(2)s
# it; given a block, it closes the socket when the block ends, however it ends.
step('connect') do
  addr.connect do |sock|
    # ANCHOR_END: connect
    # ANCHOR: send
    # copy_stream writes stdin to the socket until stdin ends; close_write is
    # shutdown(2) with SHUT_WR: the server reads end-of-file, and we can still
    # read its echo.
    step('send') do
      IO.copy_stream($stdin, sock)
      sock.close_write
    end
    # ANCHOR_END: send
    # ANCHOR: receive
    # Only now do we read: the echo has waited in the socket buffers.
    # copy_stream ends when the server closes the connection.
    step('receive') { IO.copy_stream(sock, $stdout) }
  end
end
# ANCHOR_END: receive
