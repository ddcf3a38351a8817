// PoolServer.java -- a concurrent TCP echo server: each client is a task for an ExecutorService's threads.

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

public class PoolServer {
    public static void main(String[] args) {
        // ANCHOR: pool
        // A cached pool starts a thread for a task when none is idle and reuses a
        // thread once its task is done (one idle for 60 s ends). A fixed pool,
        // newFixedThreadPool(n), would be the wrong choice here: a task holds its
        // thread for as long as its client stays connected, so client n + 1 would
        // wait in the pool's queue, unserved, until one of the first n hung up; 50
        // idle clients would stall a pool of 50 for good. Blocking I/O needs a
        // thread per connected client, so the pool cannot cap the threads without
        // capping the clients: what it saves is starting a thread per connection.
        ExecutorService pool = Executors.newCachedThreadPool();
        // ANCHOR_END: pool
        try (ServerSocketChannel listener = Common.listen("pool_server", args)) {
            // ANCHOR: stop
            // The hook closes the listener, which wakes main from accept(); main
            // then stops the pool, and the hook waits for main to finish.
            Common.onStop(() -> Common.closeQuietly(listener));
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
                        break; // the shutdown hook closed the listener
                    }
                    Common.log("accept: " + Common.reason(e)); // "Too many open files"
                    Common.pause();
                    continue;
                }
                // execute() hands the task to an idle thread of the pool, or to a
                // new one; either way accept() is called again at once.
                try {
                    pool.execute(() -> serve(conn));
                } catch (OutOfMemoryError e) { // the kernel's thread limit: EAGAIN
                    Common.log(Common.peer(conn) + ": Resource temporarily unavailable");
                    Common.closeQuietly(conn);
                }
            }
            // ANCHOR_END: accept

            // ANCHOR: shutdown
            // shutdownNow() interrupts every thread of the pool. A thread that is
            // interrupted while it waits in a channel's read() or write() closes
            // that channel (an InterruptibleChannel): every connection is closed,
            // with no list of them to keep.
            pool.shutdownNow();
            // ANCHOR_END: shutdown
        } catch (IOException e) {
            // Only closing the listener can get here, and nothing is left to do.
        }
    }

    // ANCHOR: echo
    // Runs on one of the pool's threads: echo until the client half-closes.
    static void serve(SocketChannel conn) {
        String peer = Common.peer(conn);
        Common.log("connection from " + peer);
        // One buffer per task, and write() returns only once all of it is sent:
        // a client that does not read stalls its own thread in write(), and the
        // server never holds more than these 16 KiB of its echo.
        ByteBuffer buf = ByteBuffer.allocate(16 * 1024);
        long echoed = 0;
        try (conn) {
            // read() returns -1 at end-of-file, once the client has half-closed.
            while (conn.read(buf) != -1) {
                buf.flip(); // from filling the buffer to emptying it
                while (buf.hasRemaining()) {
                    echoed += conn.write(buf);
                }
                buf.clear();
            }
            Common.log(peer + ": closed, " + echoed + " bytes echoed");
        } catch (IOException e) {
            if (!Common.stopping) { // on a stop, shutdownNow() closed it: no error
                Common.log(peer + ": " + Common.reason(e));
            }
        }
    }
    // ANCHOR_END: echo
}
