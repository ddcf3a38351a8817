# fd_client.rb -- receiving an open file descriptor from another process: recvmsg and SCM_RIGHTS over a Unix-domain socket
#
# Usage: ruby ruby/unix/fd_client.rb --path P
#
# It connects to fd_server at --path ("@name" for Linux's abstract
# namespace), receives one message carrying an open file descriptor, reads
# that file to its end and writes it to stdout. It never opens the file
# itself, and never learns its name: the server opened it. Any failure: one
# line on stderr and exit status 1.

require 'socket'
require_relative '../lib/libc'

USAGE = 'usage: fd_client --path P'
CHUNK = 65_536 # read at most 64 KiB at a time

# sun_path, where struct sockaddr_un keeps the path, is 108 bytes, and a
# portable filesystem path ends with a NUL there: 107 bytes of path at most.
# An abstract name gets the same limit after its "@".
MAX_PATH = 107

# A bad command line: say what is wrong, then the usage, both on stderr.
def usage_error(message)
  warn "fd_client: #{message}"
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
def die(message)
  warn "fd_client: #{message}"
  exit 1
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
  # socket(2) with the family AF_UNIX (:UNIX), and connect(2) to the
  # server's socket (no file: ENOENT; a stale one: ECONNREFUSED; no write
  # permission on it: EACCES).
  sock = Socket.new(:UNIX, :STREAM, 0)
  begin
    sock.connect(unix_address(path))
  rescue SystemCallError => e
    sock.close
    die "connect to #{path}: #{reason(e)}"
  end
  sock
end
# ANCHOR_END: connect

# ANCHOR: recv_fd
# recvmsg(2) receives ordinary data and, beside it, ancillary data. We ask
# for one byte (its value means nothing, so we do not look at it) and, with
# scm_rights: true, for any descriptors that came with it as IO objects;
# Ruby makes room for the control data. The descriptors are in an
# SCM_RIGHTS control message at level SOL_SOCKET: the kernel has already
# installed them in our process, each under a new number of ours, open on
# the same file as the sender's. A server that closes without sending
# anything gives an empty read and no control message at all.
def receive_fd(sock, path)
  _data, _sender, _flags, *controls = sock.recvmsg(1, 0, nil, scm_rights: true)
  rights = controls.find { |control| control.cmsg_is?(:SOCKET, :RIGHTS) }
  ios = rights ? rights.unix_rights : []
  die 'the server sent no descriptor' if ios.empty?
  # One is all we asked for; close any extra rather than leak them.
  ios.drop(1).each(&:close)
  ios.first
rescue SystemCallError => e
  die "receive from #{path}: #{reason(e)}"
end
# ANCHOR_END: recv_fd

# ANCHOR: read
# The descriptor is an ordinary open file now: read it from where its
# offset stands (the start: the server opened it for us alone) to its end,
# and copy it to stdout.
def copy_to_stdout(file_io)
  file_io.binmode
  loop do
    data = begin
      file_io.readpartial(CHUNK)
    rescue EOFError
      break
    rescue SystemCallError, IOError => e
      die "read the received descriptor: #{reason(e)}"
    end
    begin
      $stdout.write(data)
    rescue SystemCallError, IOError => e
      die "write stdout: #{reason(e)}"
    end
  end
  begin
    $stdout.flush
  rescue SystemCallError, IOError => e
    die "write stdout: #{reason(e)}"
  end
  file_io.close
end
# ANCHOR_END: read

def main
  path = parse_args(ARGV)
  # Bytes out: no encoding conversion, no newline translation.
  $stdout.binmode
  # Let Ctrl-C end us the way it ends a C program, instead of raising
  # Interrupt and printing a backtrace.
  Signal.trap('INT', 'SYSTEM_DEFAULT')

  # Started with stdout closed (`>&-`), Ruby gives descriptor 1 a pipe that
  # nobody reads (ruby/lib/libc.rb): say so before doing any work.
  die 'stdout: Bad file descriptor' if Libc.nobody_reads?($stdout)

  sock = connect_to(path)
  file_io = receive_fd(sock, path)
  # The connection has done its job: the file is ours, and stays open.
  sock.close
  copy_to_stdout(file_io)
end

main
