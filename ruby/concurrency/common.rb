# common.rb -- what every chapter 6 server in Ruby shares: flags, the descriptor limit, the listening socket and READY, peers and logs
#
# thread_server.rb and select_server.rb load it with
# `require_relative 'common'`, so that each of them shows only its design.
# The flags, wording and address handling are those of
# ruby/stream/echo_server.rb, with the program's own name.

require 'socket'
require_relative '../lib/libc'

module Common
  CHUNK = 65_536 # read at most 64 KiB at a time
  BACKLOG = 1024 # connections the kernel may queue before we accept them

  # The program's base name, for every message: set by parse_args.
  @prog = 'server'
  LOG = Mutex.new

  # ANCHOR: log
  # One line on stderr, prefixed with the program's name. Many threads may
  # log at once: the mutex lets one whole line out at a time, in one write.
  # (A trap block may not lock a mutex, so a signal handler never logs.)
  def self.log(message)
    LOG.synchronize { $stderr.write("#{@prog}: #{message}\n") }
  rescue SystemCallError, IOError
    # Best effort: with stderr gone there is nowhere left to say so.
  end
  # ANCHOR_END: log

  # A server that cannot start says why on one line and exits 1.
  def self.die(message)
    log message
    exit 1
  end

  # A bad command line: say what is wrong, then the usage, both on stderr.
  def self.usage_error(message)
    warn "#{@prog}: #{message}"
    warn usage
    exit 2
  end

  def self.usage = "usage: #{@prog} [--host H] [--port P]"

  # ANCHOR: flags
  # `--host H` (default 127.0.0.1) and `--port P` (default 0: the kernel
  # picks a free port), in the words of the contract, section 3.1.
  def self.parse_args(prog, argv)
    @prog = prog
    host = '127.0.0.1'
    port = 0
    args = argv.dup
    until args.empty?
      flag = args.shift
      case flag
      when '--help'
        puts usage
        exit 0
      when '--host', '--port'
        usage_error("#{flag} needs a value") if args.empty?
        value = args.shift
        if flag == '--host'
          host = value
        else
          # A decimal number, 0-65535 (0: let the kernel choose).
          usage_error("bad port: #{value}") unless value.match?(/\A\d{1,5}\z/) && value.to_i <= 65_535
          port = value.to_i
        end
      when /\A-/ then usage_error("unknown option: #{flag}")
      else usage_error("unexpected argument: #{flag}")
      end
    end
    # Started with stdout closed (`>&-`), Ruby gives descriptor 1 a pipe that
    # nobody reads (ruby/lib/libc.rb): READY would never arrive. Say so now.
    die 'stdout: Bad file descriptor' if Libc.nobody_reads?($stdout)
    [host, port]
  end
  # ANCHOR_END: flags

  # The C library's text for an error, as strerror(3) spells it ("Connection
  # reset by peer"). Ruby's own message adds where it happened ("... - read");
  # SystemCallError.new with just the errno gives the text.
  def self.reason(error)
    error.is_a?(SystemCallError) ? SystemCallError.new(nil, error.errno).message : error.message
  end

  # An Addrinfo as text: 127.0.0.1:40123, or [::1]:40123 for IPv6.
  def self.show(addr)
    ip = addr.ipv6? ? "[#{addr.ip_address}]" : addr.ip_address
    "#{ip}:#{addr.ip_port}"
  end

  # ANCHOR: limit
  # Every client costs a descriptor. The soft RLIMIT_NOFILE (often 1,024) is
  # the limit the kernel enforces; a process may raise it up to the hard
  # limit without privileges. Process.setrlimit is setrlimit(2).
  def self.raise_nofile_limit
    soft, hard = Process.getrlimit(:NOFILE)
    Process.setrlimit(:NOFILE, hard, hard) if soft < hard
  rescue SystemCallError => e
    # Not fatal: we serve fewer clients at once.
    log "setrlimit RLIMIT_NOFILE: #{reason(e)}"
  end
  # ANCHOR_END: limit

  # ANCHOR: listen
  # Resolve --host, then try each address until one binds: socket(2),
  # SO_REUSEADDR (a restart binds at once, even with old connections in
  # TIME_WAIT), bind(2), listen(2) with room for BACKLOG pending clients.
  def self.listen(host, port)
    addrs = begin
      Addrinfo.getaddrinfo(host, port, nil, :STREAM)
    rescue SocketError => e
      die "resolve #{host}: #{e.message.delete_prefix('getaddrinfo: ')}"
    end
    last_error = nil
    addrs.each do |addr|
      server = nil
      begin
        server = Socket.new(addr.afamily, :STREAM, 0)
        server.setsockopt(:SOCKET, :REUSEADDR, true)
        server.bind(addr)
        server.listen(BACKLOG)
        return server
      rescue SystemCallError => e
        server&.close
        last_error = "bind #{show(addr)}: #{reason(e)}"
      end
    end
    die last_error
  end
  # ANCHOR_END: listen

  # ANCHOR: ready
  # getsockname(2) (local_address) says which port we got; flush the line,
  # or it could sit in our stdout buffer.
  def self.ready(server)
    puts "READY #{show(server.local_address)}"
    $stdout.flush
  rescue SystemCallError, IOError => e
    die "write stdout: #{reason(e)}"
  end
  # ANCHOR_END: ready
end
