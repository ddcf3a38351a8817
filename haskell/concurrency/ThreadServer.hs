-- ThreadServer.hs -- a concurrent TCP echo server: a green thread (forkIO) per client
{-# LANGUAGE ScopedTypeVariables #-}

-- forkIO starts a green thread: a Haskell thread that GHC's runtime
-- schedules itself, with a kilobyte of stack to begin with, so a
-- thousand clients cost a thousand cheap threads, not a thousand OS ones.
-- A green thread that calls recv, sendAll or accept and would have to wait
-- does not block an OS thread: network's sockets are non-blocking, and the
-- call parks the thread with GHC's I/O manager (epoll underneath), which
-- wakes it when the descriptor is ready.  So this file reads like a blocking
-- server, one thread per client, and runs like an event loop.  (Here the
-- Haskell code runs on one core: -threaded without +RTS -N gives the runtime
-- one capability.  setNumCapabilities would spread the threads over more,
-- and nothing below would change.)
module Main (main) where

import Common (Log, newLog, parseArgs, showAddr, withListener)
import Control.Concurrent (ThreadId, forkFinally, killThread, myThreadId, threadDelay, throwTo)
import Control.Concurrent.MVar (MVar, modifyMVar_, newMVar, readMVar)
import Control.Exception (IOException, finally, try)
import Control.Monad (forM_, forever)
import qualified Data.ByteString as BS
import qualified Data.Map.Strict as Map
import GHC.IO.Exception (ioe_description)
import Network.Socket
import Network.Socket.ByteString (recv, sendAll)
import System.Environment (getArgs)
import System.Exit (ExitCode (..))
import System.Posix.Signals (Handler (..), installHandler, sigINT, sigTERM)

prog :: String
prog = "thread_server"

-- | The connections being served, by the thread that serves each one, so
-- that a stop can end them all.
type Clients = MVar (Map.Map ThreadId Socket)

main :: IO ()
main = do
  (host, port) <- parseArgs prog =<< getArgs
  logLine <- newLog prog
  clients <- newMVar Map.empty

  -- ANCHOR: stop
  -- As in stream/EchoServer.hs: the signal's handler runs in a thread of its
  -- own, logs, and throws ExitSuccess at the main thread, interrupting its
  -- accept.  On the way out, `finally` ends every client (stopAll) and
  -- withListener's `bracket` closes the listening socket; then the program
  -- exits 0.
  mainThread <- myThreadId
  let stop name = Catch $ do
        logLine ("stopping on " ++ name)
        throwTo mainThread ExitSuccess
  _ <- installHandler sigTERM (stop "SIGTERM") Nothing
  _ <- installHandler sigINT (stop "SIGINT") Nothing
  withListener prog host port $ \listener ->
    acceptLoop logLine clients listener `finally` stopAll clients
  where
    -- killThread throws ThreadKilled at a client's thread: its recv or
    -- sendAll gives up, and since it is not an IOException the thread logs
    -- nothing.  We close each socket here, rather than wait for the thread's
    -- own `close`, so that every connection is closed before we exit.
    stopAll clients = do
      open <- readMVar clients
      forM_ (Map.toList open) $ \(thread, conn) -> killThread thread >> close conn
  -- ANCHOR_END: stop

-- ANCHOR: accept
-- | Accept clients for ever, each in a thread of its own.  A failed accept
-- is logged and the loop goes on; out of descriptors (EMFILE) it would fail
-- again at once, with the client still queued, so we pause 100 ms first.
--
-- forkFinally runs `serve` in a new thread and then, however it ends, the
-- cleanup: close the socket and forget the client.  We fork while holding
-- the Clients MVar (modifyMVar_), so the new thread's cleanup, which needs
-- it, cannot remove the entry before we have added it.
acceptLoop :: Log -> Clients -> Socket -> IO ()
acceptLoop logLine clients listener = forever $ do
  accepted <- try (accept listener)
  case accepted of
    Left (e :: IOException) -> do
      logLine ("accept: " ++ ioe_description e)
      threadDelay 100000
    Right (conn, peer) -> modifyMVar_ clients $ \open -> do
      thread <- forkFinally (serve logLine conn peer) $ \_ -> do
        close conn
        me <- myThreadId
        modifyMVar_ clients (return . Map.delete me)
      return (Map.insert thread conn open)
-- ANCHOR_END: accept

-- ANCHOR: echo
-- | Serve one client, in its own thread: stream/EchoServer.hs's echo and log
-- lines.  `try` catches this client's failure (a reset, a vanished client),
-- which is logged; nothing here can stop the server.
--
-- Backpressure comes for free: sendAll blocks this thread (only this one)
-- while the client is not reading and its socket's send buffer is full, and
-- while it is blocked it does not recv.  So we hold at most one 64 KiB
-- chunk per client, and the kernel's flow control makes the client wait.
serve :: Log -> Socket -> SockAddr -> IO ()
serve logLine conn peer = do
  name <- showAddr peer
  logLine ("connection from " ++ name)
  result <- try (echo 0)
  logLine $ case result of
    Right echoed -> name ++ ": closed, " ++ show echoed ++ " bytes echoed"
    Left (e :: IOException) -> name ++ ": " ++ ioe_description e
  where
    echo :: Int -> IO Int
    echo echoed = do
      chunk <- recv conn 65536
      if BS.null chunk
        then return echoed
        else do
          sendAll conn chunk
          echo $! echoed + BS.length chunk
-- ANCHOR_END: echo
