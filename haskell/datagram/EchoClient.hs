-- EchoClient.hs -- a UDP echo client: a connected datagram socket, a receive timeout and a retry loop
{-# LANGUAGE ScopedTypeVariables #-}

module Main (main) where

import Control.Exception (IOException, bracket, bracketOnError, catch)
import Control.Monad (when)
import qualified Data.ByteString as BS
import Data.Char (isDigit)
import Data.List (intercalate)
import Data.Maybe (fromMaybe)
import Data.Ratio ((%))
import GHC.IO.Exception (ioe_description)
import Network.Socket
import Network.Socket.ByteString (recv, send)
import System.Environment (getArgs)
import System.Exit (ExitCode (..), exitWith)
import System.IO
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
  port <- maybe (badUsage "missing --port") return (optPort opts)
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
-- | getAddrInfo turns the host ("localhost", "::1", "192.0.2.7") and port into
-- a list of addresses; asking for Datagram gives the UDP ones.  We try each
-- in turn until connect succeeds.
--
-- connect on a datagram socket sends nothing: there is no handshake, and it
-- succeeds whether or not anything listens at that address.  It does three
-- things, all inside our own kernel: it picks our local address and port,
-- makes the server's address the default destination (so we can use send
-- and recv instead of sendto and recvfrom), and makes the kernel deliver
-- only datagrams that come from that address -- a datagram from anyone
-- else is dropped before we could see it.  It also lets errors come back:
-- if nothing is bound to the server's port, its kernel answers with an ICMP
-- "port unreachable" message, and on a connected socket our next recv or
-- send fails with ECONNREFUSED ("Connection refused").  An unconnected
-- socket is never told, and would just time out.
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
-- | send on a connected datagram socket sends one datagram to the connected
-- address: all of the payload or nothing (UDP never sends part of a
-- datagram; one that is too long fails with EMSGSIZE).  It returns the byte
-- count, which for a datagram is always all of it.  Not sendAll: sendAll,
-- made for streams, sends nothing at all for an empty string, and an empty
-- datagram is a datagram too.
sendDatagram :: Socket -> String -> BS.ByteString -> IO ()
sendDatagram sock name payload = do
  _ <- send sock payload `catch` failWith ("send to " ++ name)
  return ()
-- ANCHOR_END: send

-- ANCHOR: receive
-- | Send the payload and wait for the echo, up to 1 + retries times.
--
-- recv returns one whole datagram (up to 64 KiB, more than any can carry),
-- even an empty one.  It waits as long as it takes, so the timeout comes
-- from System.Timeout.timeout: it runs recv and, if `wait` microseconds
-- pass first, interrupts it and returns Nothing.  (The C way, the
-- SO_RCVTIMEO socket option, does nothing here: GHC puts sockets in
-- non-blocking mode and does its waiting in its own I/O manager, which
-- timeout can interrupt.)
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
        Nothing
          -- No answer in time: our datagram or its echo is lost (or just
          -- late).  Send it again, as UDP will not.
          | k < attempts -> attempt (k + 1)
          | otherwise ->
              die ("no reply from " ++ name ++ " after " ++ show attempts ++ " attempts")
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

-- | The command line: --host H (default 127.0.0.1), --port P (required),
-- --timeout S (default 1 second), --retries N (default 3).
parseArgs :: [String] -> IO Options
parseArgs = go (Options "127.0.0.1" Nothing 1000000 3)
  where
    go opts [] = return opts
    go _ ("--help" : _) = putStrLn usage >> exitWith ExitSuccess
    go opts ("--host" : h : rest) = go opts {optHost = h} rest
    go opts ("--port" : p : rest)
      | Just n <- readPort p = go opts {optPort = Just n} rest
      | otherwise = badUsage ("bad port: " ++ p)
    go opts ("--timeout" : s : rest)
      | Just us <- readSeconds s = go opts {optTimeout = us} rest
      | otherwise = badUsage ("bad timeout: " ++ s)
    go opts ("--retries" : n : rest)
      | not (null n), all isDigit n = go opts {optRetries = read n} rest
      | otherwise = badUsage ("bad retries: " ++ n)
    go _ [flag]
      | flag `elem` ["--host", "--port", "--timeout", "--retries"] =
          badUsage ("missing value for " ++ flag)
    go _ (arg : _) = badUsage ("unknown argument: " ++ arg)
    readPort s
      | not (null s), length s <= 5, all isDigit s, n >= 1, n <= 65535 = Just (fromIntegral n)
      | otherwise = Nothing
      where
        n = read s :: Int
    -- Seconds as a decimal number greater than 0 ("1", "0.2", ".5"), turned into
    -- whole microseconds: rounded up, so that 0.0000001 does not become "no
    -- wait at all", and at most what an Int holds.
    readSeconds s
      | ok && us > 0 = Just (fromInteger (min us (toInteger (maxBound :: Int))))
      | otherwise = Nothing
      where
        (whole, point) = break (== '.') s
        frac = drop 1 point
        ok = not (null (whole ++ frac)) && all isDigit (whole ++ frac)
        seconds = read (whole ++ frac) % 10 ^ length frac :: Rational
        us = ceiling (seconds * 1000000) :: Integer

badUsage :: String -> IO a
badUsage msg = do
  hPutStrLn stderr ("echo_client: " ++ msg)
  hPutStrLn stderr usage
  exitWith (ExitFailure 2)
