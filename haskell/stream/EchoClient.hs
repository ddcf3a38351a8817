-- EchoClient.hs -- a TCP echo client: connect, send from a second thread while receiving, half-close
{-# LANGUAGE ScopedTypeVariables #-}

module Main (main) where

import Control.Concurrent (forkIO, myThreadId, newEmptyMVar, putMVar, takeMVar, throwTo)
import Control.Exception
  ( Exception, Handler (..), IOException, bracket, bracketOnError, catch, catches,
    throwIO, try, uninterruptibleMask_ )
import Control.Monad (unless)
import qualified Data.ByteString as BS
import Data.Char (isDigit)
import Data.List (intercalate, isPrefixOf)
import Data.Maybe (fromMaybe)
import GHC.IO.Exception (ioe_description)
import Network.Socket
import Network.Socket.ByteString (recv, sendAll)
import System.Environment (getArgs)
import System.Exit (ExitCode (..), exitWith)
import System.IO
import System.Posix.Files (readSymbolicLink)

usage :: String
usage = "usage: echo_client [--host H] --port P"

main :: IO ()
main = do
  hSetBuffering stderr LineBuffering
  (host, port) <- parseArgs =<< getArgs
  checkStdout
  -- Bytes, not text: no decoding, no newline translation.  stdout is
  -- unbuffered because we already write in 64 KiB chunks.
  hSetBinaryMode stdin True
  hSetBinaryMode stdout True
  hSetBuffering stdout NoBuffering
  -- Every failure, in either thread, ends here: one line, exit 1.
  run host port `catches` [Handler failWith, Handler (\(SenderFailed e) -> failWith e)]
  where
    -- Masked, so that a second failure arriving from the other thread
    -- cannot cut in.
    failWith e = uninterruptibleMask_ $ do
      hPutStrLn stderr ("echo_client: " ++ ioe_description e)
      exitWith (ExitFailure 1)

-- | The sender thread's failure, rethrown in the main thread.  It needs a type
-- of its own: the main thread's orFail catches IOException, and would
-- otherwise mistake the sender's error for its own.
newtype SenderFailed = SenderFailed IOException deriving (Show)

instance Exception SenderFailed

-- | Connect, then copy stdin to the socket in one thread while this thread
-- copies the socket to stdout.  Both must run at once: the server echoes as
-- it reads, and if we wrote everything before reading, both directions'
-- socket buffers would fill (a few hundred KiB on loopback) and both sides
-- would wait for each other forever.
run :: HostName -> PortNumber -> IO ()
run host port =
  bracket (connectTo host port) (close . fst) $ \(sock, server) -> do
    -- If the sender fails, it rethrows its error in this thread, which is
    -- the one that reports errors and decides the exit status.
    mainThread <- myThreadId
    sent <- newEmptyMVar
    _ <- forkIO $
      (sendStdin sock server >> putMVar sent ())
        `catch` \e -> throwTo mainThread (SenderFailed e)
    receiveStdout sock server
    -- The server has closed its side.  That is success only if it got all of
    -- our input, so wait for the sender to finish; if the server closed
    -- early, the sender's next send fails instead ("Connection reset by
    -- peer" or "Broken pipe") and we exit 1.
    takeMVar sent

-- ANCHOR: connect
-- | getAddrInfo (getaddrinfo(3)) returns a list; we try each address in turn
-- (openSocket, then connect) and report the last failure if none of them
-- answers.  bracketOnError closes a socket whose connect failed.  Returns the
-- socket and the server's address as text, for messages.
connectTo :: HostName -> PortNumber -> IO (Socket, String)
connectTo host port = do
  let hints = defaultHints {addrFlags = [AI_NUMERICSERV], addrSocketType = Stream}
  addrs <- orFail ("resolve " ++ host) $ getAddrInfo (Just hints) (Just host) (Just (show port))
  tryEach addrs
  where
    tryEach [addr] = attempt addr -- the last one: let its error through
    tryEach (addr : rest) = attempt addr `catch` \(_ :: IOException) -> tryEach rest
    tryEach [] = ioError (userError ("resolve " ++ host ++ ": no addresses"))
    attempt addr = do
      name <- showAddr (addrAddress addr)
      orFail ("connect to " ++ name) $
        bracketOnError (openSocket addr) close $ \sock -> do
          connect sock (addrAddress addr)
          return (sock, name)
-- ANCHOR_END: connect

-- ANCHOR: send
-- | Copy stdin to the socket, 64 KiB at a time, in a thread of its own (see
-- run) so that receiving goes on meanwhile.  hGetSome returns what is there,
-- up to 64 KiB, and an empty ByteString at end of input; sendAll loops until
-- the kernel has taken the whole chunk.  shutdown ShutdownSend is
-- shutdown(SHUT_WR): the half-close.
sendStdin :: Socket -> String -> IO ()
sendStdin sock server = do
  chunk <- orFail "read stdin" (BS.hGetSome stdin 65536)
  if BS.null chunk
    then orFail ("shutdown " ++ server) (shutdown sock ShutdownSend)
    else do
      orFail ("send to " ++ server) (sendAll sock chunk)
      sendStdin sock server
-- ANCHOR_END: send

-- ANCHOR: receive
-- | Copy the socket to stdout until the server closes the connection: recv
-- returns up to 64 KiB of whatever has arrived, and an empty ByteString at
-- end of file.  A reset connection makes recv throw ("Connection reset by
-- peer"); a write to a closed pipe fails with EPIPE rather than killing us
-- (GHC's runtime ignores SIGPIPE).
receiveStdout :: Socket -> String -> IO ()
receiveStdout sock server = do
  chunk <- orFail ("receive from " ++ server) (recv sock 65536)
  unless (BS.null chunk) $ do
    orFail "write stdout" (BS.hPut stdout chunk)
    receiveStdout sock server
-- ANCHOR_END: receive

-- | Format a socket address as 127.0.0.1:40123 or [::1]:40123.
-- getNameInfo with NI_NUMERICHOST is getnameinfo(3): it turns an IPv6 address
-- into its short text form (::1) without asking DNS for a name.
showAddr :: SockAddr -> IO String
showAddr (SockAddrInet port host) = do
  let (a, b, c, d) = hostAddressToTuple host
  return (intercalate "." (map show [a, b, c, d]) ++ ":" ++ show port)
showAddr addr@(SockAddrInet6 port _ _ _) = do
  (host, _) <- getNameInfo [NI_NUMERICHOST] True False addr
  return ("[" ++ fromMaybe "?" host ++ "]:" ++ show port)
showAddr addr = return (show addr)

-- | Run an action; if it fails, fail with a message that says which step went
-- wrong ("connect to 127.0.0.1:9: Connection refused").
-- ioe_description is the system's own text for the error (strerror or
-- gai_strerror); `show` would add the Haskell function and socket names.
orFail :: String -> IO a -> IO a
orFail what act = act `catch` \e ->
  throwIO (userError (what ++ ": " ++ ioe_description (e :: IOException)))

-- | Started with stdout closed (`echo_client >&-`)?  Then say so before any
-- socket exists: the socket would get descriptor 1, and what we "print"
-- would go into it.  C asks fcntl(1, F_GETFD); in Haskell that is too late,
-- because GHC's runtime opens descriptors of its own before main runs (its
-- I/O manager's epoll instance, its timer), and the first of them takes the
-- lowest free number, 1.  So we ask the kernel what descriptor 1 is:
-- nothing, or one of those anonymous inodes ("anon_inode:[eventpoll]"),
-- which no shell passes as a program's stdout.
checkStdout :: IO ()
checkStdout = do
  target <- try (readSymbolicLink "/proc/self/fd/1") :: IO (Either IOException FilePath)
  case target of
    Right name | not ("anon_inode:" `isPrefixOf` name) -> return ()
    _ -> do
      hPutStrLn stderr "echo_client: stdout: Bad file descriptor"
      exitWith (ExitFailure 1)

-- | The command line, left to right; the first problem is the one reported.
-- --host H (default 127.0.0.1) and --port P (required).
parseArgs :: [String] -> IO (HostName, PortNumber)
parseArgs = go ("127.0.0.1", Nothing)
  where
    go (h, Just p) [] = return (h, p)
    go (_, Nothing) [] = badUsage "--port is required"
    go _ ("--help" : _) = putStrLn usage >> exitWith ExitSuccess
    go _ [flag] | flag `elem` ["--host", "--port"] = badUsage (flag ++ " needs a value")
    go (_, p) ("--host" : h : rest) = go (h, p) rest
    go (h, _) ("--port" : p : rest) = case readPort p of
      Just n -> go (h, Just n) rest
      Nothing -> badUsage ("bad port: " ++ p)
    go _ (arg : _) = badUsage (unexpected arg)
    unexpected arg@('-' : _) = "unknown option: " ++ arg
    unexpected arg = "unexpected argument: " ++ arg
    -- 1 to 5 decimal digits, no sign, 1 to 65535.
    readPort s
      | not (null s), length s <= 5, all isDigit s, n >= 1, n <= 65535 = Just (fromIntegral n)
      | otherwise = Nothing
      where
        n = read s :: Int
    badUsage msg = do
      hPutStrLn stderr ("echo_client: " ++ msg)
      hPutStrLn stderr usage
      exitWith (ExitFailure 2)
