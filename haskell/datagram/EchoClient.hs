-- EchoClient.hs -- a UDP echo client: a connected datagram socket, a receive timeout and a retry loop
{-# LANGUAGE ScopedTypeVariables #-}

module Main (main) where

import Control.Exception (IOException, bracket, bracketOnError, catch, try)
import Control.Monad (when)
import qualified Data.ByteString as BS
import Data.Char (isDigit)
import Data.List (intercalate, isPrefixOf)
import Data.Maybe (fromMaybe)
import Data.Ratio ((%))
import GHC.IO.Exception (ioe_description)
import Network.Socket
import Network.Socket.ByteString (recv, send)
import System.Environment (getArgs)
import System.Exit (ExitCode (..), exitWith)
import System.IO
import System.Posix.Files (readSymbolicLink)
import System.Timeout (timeout)

-- UDP promises nothing about delivery: the datagram we send, or the echo
-- that comes back, may simply be lost, and nobody tells us.  So the client
-- waits a limited time for the answer, and if none comes it sends again,
-- a limited number of times.  (Datagrams may also be duplicated or
-- reordered; for an echo that does no harm: the first answer is the one we
-- print.)

usage :: String
usage = "usage: echo_client [--host H] --port P [--timeout S] [--retries N]"

-- | The largest UDP payload over IPv4: the IP packet's 16-bit length field
-- allows 65,535 bytes, minus 20 for the IP header and 8 for the UDP header.
maxDatagram :: Int
maxDatagram = 65507

data Options = Options
  { optHost :: HostName,
    optPort :: Maybe PortNumber,
    optTimeout :: Int, -- microseconds to wait for each reply
    optRetries :: Integer -- how many times to send again
  }

main :: IO ()
main = do
  hSetBuffering stderr LineBuffering
  opts <- parseArgs =<< getArgs
  port <- maybe (badUsage "--port is required") return (optPort opts)
  checkStdout
  -- Bytes, not text: no decoding, no newline translation.
  hSetBinaryMode stdin True
  hSetBinaryMode stdout True
  -- The whole of stdin is one datagram, so read it all first, and refuse
  -- what no datagram can carry before sending anything.
  payload <- BS.getContents `catch` failWith "read stdin"
  let size = BS.length payload
  when (size > maxDatagram) $ do
    hPutStrLn stderr $
      "echo_client: " ++ show size ++ " bytes is more than the "
        ++ show maxDatagram
        ++ " a UDP datagram can carry"
    exitWith (ExitFailure 2)
  -- Every failure ends in one of the failWith handlers: one line, exit 1.
  bracket (connectTo (optHost opts) port) (close . fst) $ \(sock, name) ->
    exchange sock name payload (optTimeout opts) (optRetries opts)

-- ANCHOR: connect
-- | getAddrInfo with addrSocketType = Datagram gives the UDP addresses; we
-- use the first one connect accepts.  connect here sends nothing: it sets
-- the socket's default destination, so we can call send and recv, and the
-- only sender whose datagrams it delivers.  Returns the socket and the
-- server's address as text, for messages.
connectTo :: HostName -> PortNumber -> IO (Socket, String)
connectTo host port = do
  let hints = defaultHints {addrFlags = [AI_NUMERICSERV], addrSocketType = Datagram}
  addrs <-
    getAddrInfo (Just hints) (Just host) (Just (show port))
      `catch` failWith ("resolve " ++ host)
  tryEach addrs
  where
    tryEach [addr] = attempt addr `catch` \e -> do
      -- the last one: report its error
      name <- showAddr (addrAddress addr)
      failWith ("connect to " ++ name) e
    tryEach (addr : rest) = attempt addr `catch` \(_ :: IOException) -> tryEach rest
    tryEach [] = die ("resolve " ++ host ++ ": no addresses")
    attempt addr = do
      name <- showAddr (addrAddress addr)
      bracketOnError (openSocket addr) close $ \sock -> do
        connect sock (addrAddress addr)
        return (sock, name)
-- ANCHOR_END: connect

-- ANCHOR: send
-- | send (send(2)) on a connected datagram socket: one datagram, all of the
-- payload or an exception.  Not sendAll: made for streams, it sends nothing
-- at all for an empty ByteString, and an empty datagram is a datagram too.
sendDatagram :: Socket -> String -> BS.ByteString -> IO ()
sendDatagram sock name payload = do
  _ <- send sock payload `catch` failWith ("send to " ++ name)
  return ()
-- ANCHOR_END: send

-- ANCHOR: receive
-- | Send the payload and wait for the echo, up to 1 + retries times.
--
-- recv returns one whole datagram, even an empty one, and waits as long as
-- it takes; System.Timeout.timeout runs it and, if `wait` microseconds pass
-- first, interrupts it and returns Nothing.  (C's SO_RCVTIMEO does nothing
-- here: GHC's sockets are non-blocking, and the waiting is done by its I/O
-- manager, which timeout can interrupt.)
exchange :: Socket -> String -> BS.ByteString -> Int -> Integer -> IO ()
exchange sock name payload wait retries = attempt 1
  where
    attempts = retries + 1
    attempt :: Integer -> IO ()
    attempt k = do
      sendDatagram sock name payload
      reply <- timeout wait (recv sock 65536) `catch` failWith ("receive from " ++ name)
      case reply of
        Just datagram ->
          -- hFlush now, so that a failed write (a closed stdout) is
          -- reported here and not lost in the flush at exit.
          (BS.hPut stdout datagram >> hFlush stdout) `catch` failWith "write stdout"
        Nothing -- no answer in time: send again, as UDP will not
          | k < attempts -> attempt (k + 1)
          | otherwise -> die ("no reply from " ++ name ++ " after " ++ counted attempts)
    counted 1 = "1 attempt"
    counted n = show n ++ " attempts"
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

-- | A failed step: one line that says which step and why ("receive from
-- 127.0.0.1:9: Connection refused"), and exit 1.  ioe_description is the
-- system's own text for the error (strerror or gai_strerror); `show` would
-- add the Haskell function and socket names.
failWith :: String -> IOException -> IO a
failWith what e = die (what ++ ": " ++ ioe_description e)

die :: String -> IO a
die msg = do
  hPutStrLn stderr ("echo_client: " ++ msg)
  exitWith (ExitFailure 1)

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
    _ -> die "stdout: Bad file descriptor"

-- | The command line, left to right; the first problem is the one reported.
-- --host H (default 127.0.0.1), --port P (required), --timeout S (default 1
-- second), --retries N (default 3).
parseArgs :: [String] -> IO Options
parseArgs = go (Options "127.0.0.1" Nothing 1000000 3)
  where
    go opts [] = return opts
    go _ ("--help" : _) = putStrLn usage >> exitWith ExitSuccess
    go _ [flag]
      | flag `elem` ["--host", "--port", "--timeout", "--retries"] =
          badUsage (flag ++ " needs a value")
    go opts ("--host" : h : rest) = go opts {optHost = h} rest
    go opts ("--port" : p : rest) = case readPort p of
      Just n -> go opts {optPort = Just n} rest
      Nothing -> badUsage ("bad port: " ++ p)
    go opts ("--timeout" : s : rest) = case readSeconds s of
      Just us -> go opts {optTimeout = us} rest
      Nothing -> badUsage ("bad timeout: " ++ s)
    go opts ("--retries" : n : rest)
      | not (null n), all isDigit n = go opts {optRetries = read n} rest
      | otherwise = badUsage ("bad retries: " ++ n)
    go _ (arg : _) = badUsage (unexpected arg)
    unexpected arg@('-' : _) = "unknown option: " ++ arg
    unexpected arg = "unexpected argument: " ++ arg
    -- 1 to 5 decimal digits, no sign, 1 to 65535.
    readPort s
      | not (null s), length s <= 5, all isDigit s, n >= 1, n <= 65535 = Just (fromIntegral n)
      | otherwise = Nothing
      where
        n = read s :: Int

-- | Seconds: digits, optionally a "." and more digits ("1", "0.2"; not ".5",
-- "5." or "1e3"), more than 0.  Turned into whole microseconds, rounded up
-- (0.0000001 is 1 us, not "no wait at all"), at most what an Int holds.
readSeconds :: String -> Maybe Int
readSeconds s = case span isDigit s of
  (whole@(_ : _), "") -> micro whole ""
  (whole@(_ : _), '.' : frac@(_ : _)) | all isDigit frac -> micro whole frac
  _ -> Nothing
  where
    micro whole frac
      | us > 0 = Just (fromInteger (min us (toInteger (maxBound :: Int))))
      | otherwise = Nothing
      where
        us = ceiling (read (whole ++ frac) % 10 ^ length frac * 1000000 :: Rational) :: Integer

badUsage :: String -> IO a
badUsage msg = do
  hPutStrLn stderr ("echo_client: " ++ msg)
  hPutStrLn stderr usage
  exitWith (ExitFailure 2)
