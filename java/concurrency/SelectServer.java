// SelectServer.java -- a concurrent TCP echo server: one thread, non-blocking channels, an NIO Selector.

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;

public class SelectServer {
    // At most this much echo waits, received but not yet sent back, per client.
    static final int LIMIT = 1024 * 1024;

    // What the server keeps for one client, attached to the client's SelectionKey.
    static final class Client {
        final String peer;
        // Received and not yet sent back, kept ready for filling: bytes 0 to
        // position(). It starts small and doubles while full, up to LIMIT, so an
        // idle client costs 16 KiB, not a whole MiB.
        ByteBuffer pending = ByteBuffer.allocate(16 * 1024);
        boolean eof; // the client has half-closed
        long echoed;

        Client(String peer) {
            this.peer = peer;
        }
    }

    // After a failed accept(), the System.nanoTime() at which to take clients again.
    static long acceptAgainAt;

    public static void main(String[] args) {
        try (ServerSocketChannel listener = Common.listen("select_server", args);
                // Selector.open() is epoll_create() on Linux.
                Selector selector = Selector.open()) {
            // ANCHOR: stop
            // Every socket belongs to the main thread, so the hook does not close
            // them itself: wakeup() makes main's select() return at once, main sees
            // Common.stopping, closes every channel and finishes.
            Common.onStop(selector::wakeup);
            // ANCHOR_END: stop
            Common.ready(listener);

            // ANCHOR: loop
            // A non-blocking accept(), read() or write() does what it can right now
            // and returns, instead of waiting; select() is where the thread waits.
            listener.configureBlocking(false);
            // register() adds the channel to the selector, with the interest set:
            // the operations to wait for (here, a client to accept).
            SelectionKey accepting = listener.register(selector, SelectionKey.OP_ACCEPT);
            while (!Common.stopping) {
                long now = System.nanoTime();
                if (accepting.interestOps() == 0 && now >= acceptAgainAt) {
                    accepting.interestOps(SelectionKey.OP_ACCEPT);
                }
                long wait = accepting.interestOps() != 0 ? 0 // 0: no time limit
                        : Math.max(1, TimeUnit.NANOSECONDS.toMillis(acceptAgainAt - now));
                // select() waits until a registered channel is ready for something
                // in its interest set, then calls us once for each ready key.
                selector.select(key -> {
                    if (key.isAcceptable()) {
                        accept(key);
                    } else {
                        serve(key);
                    }
                }, wait);
            }
            for (SelectionKey key : selector.keys()) {
                Common.closeQuietly(key.channel());
            }
            // ANCHOR_END: loop
        } catch (IOException e) {
            // select() failed: there is nothing left to serve with.
            if (!Common.stopping) {
                Common.fail("select: " + Common.reason(e));
            }
        }
    }

    // ANCHOR: accept
    static void accept(SelectionKey key) {
        SocketChannel conn;
        try {
            // Non-blocking, accept() returns null if the client has gone already.
            conn = ((ServerSocketChannel) key.channel()).accept();
        } catch (IOException e) {
            // "Too many open files": the client stays queued, and the listener stays
            // ready. Stop asking for it for 100 ms, so that select() does not return
            // at once every time, and serve the connected clients meanwhile.
            Common.log("accept: " + Common.reason(e));
            key.interestOps(0);
            acceptAgainAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
            return;
        }
        if (conn == null) {
            return;
        }
        Client client = new Client(Common.peer(conn));
        Common.log("connection from " + client.peer);
        try {
            conn.configureBlocking(false);
            // Wait for what it sends; the Client rides along as the key's attachment.
            conn.register(key.selector(), SelectionKey.OP_READ, client);
        } catch (IOException e) {
            Common.log(client.peer + ": " + Common.reason(e));
            Common.closeQuietly(conn);
        }
    }
    // ANCHOR_END: accept

    // ANCHOR: echo
    // The client's socket is ready: read what has arrived, send back what we can.
    static void serve(SelectionKey key) {
        SocketChannel conn = (SocketChannel) key.channel();
        Client client = (Client) key.attachment();
        ByteBuffer pending = client.pending;
        try {
            // read() returns at once: the bytes that had arrived, or -1 at end of
            // file, once the client has half-closed (its shutdownOutput()).
            if (key.isReadable() && conn.read(pending) == -1) {
                client.eof = true;
            }
            if (pending.position() > 0) {
                pending.flip(); // from filling the buffer to emptying it
                // write() sends what the socket's send buffer has room for, maybe
                // nothing; compact() moves the unsent rest to the front.
                client.echoed += conn.write(pending);
                pending.compact();
            }
            if (client.eof && pending.position() == 0) { // all echoed: done
                Common.log(client.peer + ": closed, " + client.echoed + " bytes echoed");
                conn.close(); // closing a channel also takes it out of the selector
                return;
            }
            if (!pending.hasRemaining() && pending.capacity() < LIMIT) {
                client.pending = pending = ByteBuffer.allocate(2 * pending.capacity())
                        .put(pending.flip());
            }
            // Read while there is room (full: backpressure, the client's sends stall);
            // ask for "writable" only while there is something to send, or select()
            // would return at once, every time, for an idle client.
            key.interestOps((!client.eof && pending.hasRemaining() ? SelectionKey.OP_READ : 0)
                    | (pending.position() > 0 ? SelectionKey.OP_WRITE : 0));
        } catch (IOException e) {
            // A reset or a vanished client ends only this connection.
            Common.log(client.peer + ": " + Common.reason(e));
            Common.closeQuietly(conn);
        }
    }
    // ANCHOR_END: echo
}
