# libc.rb -- C library calls that Ruby's standard library lacks, bound with Fiddle (the FFI in Ruby's standard library)
#
# The examples load it with `require_relative '../lib/libc'`. Each binding is
# the C prototype, a Fiddle::Function for it, and a Ruby method that calls it.

require 'fiddle'

module Libc
  # The C library this Ruby itself is linked with: dlopen(NULL).
  LIBC = Fiddle.dlopen(nil)

  # int poll(struct pollfd *fds, nfds_t nfds, int timeout);
  # struct pollfd { int fd; short events; short revents; };
  # (nfds_t is an unsigned long: in Fiddle, minus a type makes it unsigned.)
  POLL = Fiddle::Function.new(LIBC['poll'], [Fiddle::TYPE_VOIDP, -Fiddle::TYPE_LONG, Fiddle::TYPE_INT],
                              Fiddle::TYPE_INT)
  POLLOUT = 0x004
  POLLERR = 0x008

  # Is `io` a pipe that nobody will ever read? Ruby starts every program with
  # descriptors 0, 1 and 2 open: one that was closed (`>&-`) gets a pipe
  # whose other end is closed, so that no file or socket can take its
  # number. Writing there fails (EPIPE), and only poll(2) can tell before
  # that: it reports POLLERR on a pipe with no reader. (IO.select cannot: it
  # counts an error as writable.)
  def self.nobody_reads?(io)
    pollfd = [io.fileno, POLLOUT, 0].pack('iss')
    raise SystemCallError.new('poll', Fiddle.last_error) if POLL.call(pollfd, 1, 0) == -1

    pollfd.unpack('iss')[2] & POLLERR != 0
  end
end
