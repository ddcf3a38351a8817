// ThreadServer.java -- a concurrent TCP echo server: one platform thread per client, blocking I/O.

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

public class ThreadServer {
    // The open connections, so that the shutdown hook can close them all. Many
    // threads add and remove at once: a concurrent set.
    static final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();

    public static void main(String[] args) {
        try (ServerSocketChannel listener = Common.listen("thread_server", args)) {
            // ANCHOR: stop
            // Closing the listener wakes main from accept(); closing a connection
            // wakes its thread from read() or write() with an exception.
            Common.onStop(() -> {
                Common.closeQuietly(listener);
                open.forEach(Common::closeQuietly);
            });
            // ANCHOR_END: stop
            Common.ready(listener);

            // ANCHOR: accept
            while (true) {
                SocketChannel conn;
                try {
                    // The channel is in blocking mode: accept() waits for a client.
                    conn = listener.accept();
                } catch (IOException e) {
                    if (Common.stopping) {
                        return; // the shutdown hook closed the listener
                    }
                    Common.log("accept: " + Common.reason(e)); // "Too many open files"
                    Common.pause();
                    continue;
                }
                open.add(conn);
                // A platform thread is a kernel thread with its own stack; it blocks
                // in read() and write() without holding up any other client.
                try {
                    new Thread(() -> serve(conn)).start();
                } catch (OutOfMemoryError e) { // the kernel's thread limit: EAGAIN
                    Common.log(Common.peer(conn) + ": Resource temporarily unavailable");
                    open.remove(conn);
                    Common.closeQuietly(conn);
                }
            }
            // ANCHOR_END: accept
        } catch (IOException e) {
            // Only closing the listener can get here, and nothing is left to do.
        }
    }

    // ANCHOR: echo
    // Runs on the client's own thread: echo until the client half-closes.
    static void serve(SocketChannel conn) {
        String peer = Common.peer(conn);
        Common.log("connection from " + peer);
        // One buffer per thread, and write() returns only once all of it is sent:
        // a client that does not read stalls its own thread in write(), and the
        // server never holds more than these 16 KiB of its echo.
        ByteBuffer buf = ByteBuffer.allocate(16 * 1024);
        long echoed = 0;
        try (conn) {
            // read() fills the buffer with what has arrived and returns -1 at
            // end-of-file, once the client has half-closed.
            while (conn.read(buf) != -1) {
                buf.flip(); // from filling the buffer to emptying it
                while (buf.hasRemaining()) {
                    echoed += conn.write(buf);
                }
                buf.clear();
            }
            Common.log(peer + ": closed, " + echoed + " bytes echoed");
        } catch (IOException e) {
            if (!Common.stopping) { // on a stop, the hook closed it: no error
                Common.log(peer + ": " + Common.reason(e));
            }
        } finally {
            open.remove(conn);
        }
    }
    // ANCHOR_END: echo
}
