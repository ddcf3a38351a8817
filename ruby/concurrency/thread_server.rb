# thread_server.rb -- a concurrent TCP echo server: one Ruby Thread per client
#
# Usage: ruby ruby/concurrency/thread_server.rb [--host H] [--port P]
#
# The main thread waits for SIGTERM or SIGINT; a second thread accepts
# clients and starts a thread for each. Ruby threads are operating-system
# threads; only one runs Ruby code at a time (the global VM lock), but a
# thread blocked in read, write or accept lets the others run, and that is
# all an echo server needs. A stop closes every socket and exits 0.

require_relative 'common'

# The open connections, so that a stop can close them; guarded by LOCK.
CONNS = {}.compare_by_identity
LOCK = Mutex.new

# ANCHOR: echo
# One client, in its own thread: plain blocking calls, as in echo_server.rb.
# If the client stops reading, write blocks this thread only, once the
# kernel's buffers are full: at most one CHUNK of echo waits here.
def serve(conn, peer)
  Common.log "connection from #{peer}"
  echoed = 0
  loop { echoed += conn.write(conn.readpartial(Common::CHUNK)) }
rescue EOFError
  # The client half-closed and has everything back.
  Common.log "#{peer}: closed, #{echoed} bytes echoed"
rescue SystemCallError => e
  # A reset or a vanished client (Ruby ignores SIGPIPE, so that is EPIPE):
  # this client's problem only.
  Common.log "#{peer}: #{Common.reason(e)}"
rescue IOError
  # The main thread closed the socket under us: we are stopping.
ensure
  LOCK.synchronize { CONNS.delete(conn) }
  conn.close
end
# ANCHOR_END: echo

# ANCHOR: accept
# Thread.new runs the block in a new thread, which ends when serve returns.
def start_thread(conn, peer)
  Thread.new { serve(conn, peer) }
rescue ThreadError => e
  # No thread to be had (out of memory, or the kernel's limit on tasks):
  # this client goes unserved, the others carry on.
  Common.log "#{peer}: #{e.message}"
  LOCK.synchronize { CONNS.delete(conn) }
  conn.close
end

# Runs in a thread of its own, so that accept blocks it, not the main thread.
def accept_loop(server)
  loop do
    # accept(2) returns the client's socket and address (an Addrinfo).
    conn, addr = server.accept
    # Register the socket, unless a stop has begun: then close it unserved.
    LOCK.synchronize { server.closed? ? conn.close : CONNS[conn] = true }
    next if conn.closed?

    start_thread(conn, Common.show(addr))
  rescue Errno::EMFILE, Errno::ENFILE => e
    # Out of descriptors, the client stays queued; pause, or we would spin.
    Common.log "accept: #{Common.reason(e)}"
    sleep 0.1
  rescue SystemCallError => e
    Common.log "accept: #{Common.reason(e)}"
  end
rescue IOError
  # The main thread closed the listening socket: we are stopping.
end
# ANCHOR_END: accept

# ANCHOR: stop
# A trap block runs in the main thread between two Ruby steps, and may not
# lock a mutex, so it only passes the signal's name on through a Queue
# (Thread::Queue#push is allowed there); the main thread does the rest.
def trap_stop_signals
  stop = Queue.new
  %w[TERM INT].each { |name| Signal.trap(name) { stop << "SIG#{name}" } }
  stop
end

# Closing a socket that another thread is blocked on wakes that thread with
# IOError; serve and accept_loop take it as the end. Under LOCK, so that
# accept_loop cannot register a connection in between.
def shut_down(server, signal)
  LOCK.synchronize do
    server.close
    CONNS.each_key(&:close)
  end
  Common.log "stopping on #{signal}"
end
# ANCHOR_END: stop

def main
  host, port = Common.parse_args('thread_server', ARGV)
  stop = trap_stop_signals # before the socket exists, so a signal finds it
  Common.raise_nofile_limit
  server = Common.listen(host, port)
  Common.ready(server)
  Thread.new { accept_loop(server) }
  # Wait for a signal. Returning from main then ends the process, and Ruby
  # kills any thread still alive.
  shut_down(server, stop.pop)
end

main
