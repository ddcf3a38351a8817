-- RawClient.hs -- a client for an IP protocol of our own (253): one raw socket that sees every such packet, and picks out its reply
module Main (main) where

import Control.Exception (IOException, bracket, catch, try)
import Control.Monad (when)
import Data.Bits ((.&.))
import qualified Data.ByteString as BS
import Data.Char (isDigit)
import Data.List (intercalate, isPrefixOf)
import Data.Ratio ((%))
import Foreign.C.Error (Errno (..), ePERM)
import GHC.Clock (getMonotonicTimeNSec)
import GHC.IO.Exception (ioe_description, ioe_errno)
import Network.Socket
import Network.Socket.ByteString (recvFrom, sendTo)
import System.Environment (getArgs)
import System.Exit (ExitCode (..), exitWith)
import System.IO
import System.Posix.Files (readSymbolicLink)
import System.Posix.User (getEffectiveUserID, getUserEntryForName, setGroupID, setGroups, setUserID, userGroupID, userID)
import System.Timeout (timeout)

-- The message (see RawServer.hs): a 4-byte header -- type (1 = request,
-- 2 = reply), a 0 byte, a 16-bit identifier in network byte order -- and
-- 0 to 1,400 bytes of payload, carried in an IPv4 packet with protocol
-- number 253.  Like UDP, IP promises nothing: a packet may be lost, so the
-- client waits a limited time for the reply and sends again, a limited
-- number of times.

usage :: String
usage = "usage: raw_client --host A [--timeout S] [--retries N]"

-- | The most payload a message may carry.
maxPayload :: Int
maxPayload = 1400

-- | Our protocol number: reserved for experimentation and testing (RFC 3692).
protocol :: ProtocolNumber
protocol = 253

data Options = Options
  { optHost :: Maybe HostAddress, -- the server's address, numeric IPv4
    optTimeout :: Int, -- microseconds to wait for each reply
    optRetries :: Integer -- how many times to send again
  }

main :: IO ()
main = do
  hSetBuffering stderr LineBuffering
  opts <- parseArgs =<< getArgs
  host <- maybe (badUsage "--host is required") return (optHost opts)
  checkStdout
  -- Bytes, not text: no decoding, no newline translation.
  hSetBinaryMode stdin True
  hSetBinaryMode stdout True
  -- The whole of stdin is one message, so read it all first, and refuse
  -- what no message may carry before opening anything.
  payload <- BS.getContents `catch` failWith "read stdin"
  let size = BS.length payload
  when (size > maxPayload) $ do
    hPutStrLn stderr $
      "raw_client: " ++ show size ++ " bytes is more than the "
        ++ show maxPayload
        ++ " a message may carry"
    exitWith (ExitFailure 2)
  -- Every failure ends in one of the failWith handlers: one line, exit 1.
  bracket openRaw close $ \sock -> do
    dropPrivileges
    ident <- randomIdentifier
    exchange sock host (request ident payload) ident (optTimeout opts) (optRetries opts)

-- ANCHOR: open
-- | socket(AF_INET, SOCK_RAW, 253), not bound: it receives every
-- protocol-253 packet the host receives, our own request on loopback
-- included.  network's `socket` takes the protocol number as given; Raw is
-- SOCK_RAW.  Without CAP_NET_RAW it throws EPERM.
openRaw :: IO Socket
openRaw =
  socket AF_INET Raw protocol `catch` \e ->
    if ioe_errno e == Just eperm
      then die ("a raw socket needs CAP_NET_RAW (run as root): " ++ ioe_description e)
      else failWith "socket" e
  where
    Errno eperm = ePERM

-- | Give up root once the socket is open: setGroups, setGroupID and
-- setUserID are setgroups(2), setgid(2) and setuid(2), in that order.
-- (GHC's threaded runtime runs several OS threads; glibc applies each call
-- to all of them.)  Run by anyone but root, we keep who we are.
dropPrivileges :: IO ()
dropPrivileges = do
  euid <- getEffectiveUserID
  when (euid == 0) $ do
    nobody <- getUserEntryForName "nobody" `catch` failWith "look up user nobody"
    setGroups [] `catch` failWith "setgroups"
    setGroupID (userGroupID nobody) `catch` failWith "setgid"
    setUserID (userID nobody) `catch` failWith "setuid"
-- ANCHOR_END: open

-- | A random 16-bit identifier, from the kernel's random number generator.
-- With no ports, the identifier is how we recognise our reply among all
-- the protocol-253 packets we see; random, so that two clients running at
-- once are unlikely to pick the same one.
randomIdentifier :: IO Int
randomIdentifier = do
  bytes <- withBinaryFile "/dev/urandom" ReadMode (`BS.hGet` 2) `catch` failWith "read /dev/urandom"
  return (foldl (\n b -> n * 256 + fromIntegral b) 0 (BS.unpack bytes))

-- ANCHOR: send
-- | The request: type 1, a 0 byte, the identifier big-endian, the payload.
request :: Int -> BS.ByteString -> BS.ByteString
request ident payload = BS.pack [1, 0, fromIntegral (ident `div` 256), fromIntegral ident] <> payload

-- | sendto(2) the message to the server.  There is no port in protocol 253
-- (the sockaddr_in's port is unused, so 0).  A message is sent whole or
-- not at all.
sendRequest :: Socket -> HostAddress -> BS.ByteString -> IO ()
sendRequest sock host msg = do
  _ <- sendTo sock msg (SockAddrInet 0 host) `catch` failWith ("send to " ++ showHost host)
  return ()
-- ANCHOR_END: send

-- ANCHOR: receive
-- | Send the request and wait for the reply, up to 1 + retries times.
-- recvFrom (recvfrom(2)) returns one IP packet and its source; we accept
-- only a reply from the server's address with our identifier, and read on
-- until it comes or this attempt's deadline, fixed when we send, has
-- passed: System.Timeout.timeout gives recvFrom what is left of it.
exchange :: Socket -> HostAddress -> BS.ByteString -> Int -> Int -> Integer -> IO ()
exchange sock host msg ident wait retries = attempt 1
  where
    attempts = retries + 1
    attempt :: Integer -> IO ()
    attempt k = do
      sendRequest sock host msg
      sentAt <- toInteger <$> getMonotonicTimeNSec
      reply <- awaitReply (sentAt + toInteger wait * 1000)
      case reply of
        Just payload -> (BS.hPut stdout payload >> hFlush stdout) `catch` failWith "write stdout"
        Nothing -- no reply in time: send again, as IP will not
          | k < attempts -> attempt (k + 1)
          | otherwise -> die ("no reply from " ++ showHost host ++ " after " ++ counted attempts)
    counted 1 = "1 attempt"
    counted n = show n ++ " attempts"
    awaitReply deadline = do
      now <- toInteger <$> getMonotonicTimeNSec
      if now >= deadline
        then return Nothing
        else do
          let left = fromInteger (min ((deadline - now + 999) `div` 1000) (toInteger (maxBound :: Int)))
          got <- timeout left (recvFrom sock 65536) `catch` failWith "receive"
          case got of
            Nothing -> return Nothing
            Just (packet, SockAddrInet _ from)
              | from == host, Just reply <- message packet, isOurReply reply ->
                  return (Just (BS.drop 4 reply))
            Just _ -> awaitReply deadline
    isOurReply reply =
      BS.length reply >= 4
        && BS.index reply 0 == 2 -- a reply
        && BS.index reply 1 == 0
        && fromIntegral (BS.index reply 2) * 256 + fromIntegral (BS.index reply 3) == ident
-- ANCHOR_END: receive

-- | Our message in an IPv4 packet, as in RawServer.hs: skip the IP header,
-- IHL (the low 4 bits of its first byte) times 4 bytes.
message :: BS.ByteString -> Maybe BS.ByteString
message packet
  | BS.length packet < 20 || BS.length packet < ihl = Nothing
  | otherwise = Just (BS.drop ihl packet)
  where
    ihl = fromIntegral (BS.head packet .&. 0x0f) * 4

-- | An IPv4 address as 127.0.0.1.
showHost :: HostAddress -> String
showHost host = intercalate "." (map show [a, b, c, d])
  where
    (a, b, c, d) = hostAddressToTuple host

-- | A failed step: one line that says which step and why ("send to
-- 10.9.9.9: Network is unreachable"), and exit 1.  ioe_description is the
-- system's own text for the error (strerror).
failWith :: String -> IOException -> IO a
failWith what e = die (what ++ ": " ++ ioe_description e)

die :: String -> IO a
die msg = do
  hPutStrLn stderr ("raw_client: " ++ msg)
  exitWith (ExitFailure 1)

-- | Started with stdout closed (`raw_client >&-`)?  Then say so before any
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
-- --host A (required, numeric IPv4), --timeout S (default 1 second),
-- --retries N (default 3).
parseArgs :: [String] -> IO Options
parseArgs = go (Options Nothing 1000000 3)
  where
    go opts [] = return opts
    go _ ("--help" : _) = putStrLn usage >> exitWith ExitSuccess
    go _ [flag]
      | flag `elem` ["--host", "--timeout", "--retries"] = badUsage (flag ++ " needs a value")
    go opts ("--host" : h : rest) = case readIPv4 h of
      Just addr -> go opts {optHost = Just addr} rest
      Nothing -> badUsage ("bad host: " ++ h)
    go opts ("--timeout" : s : rest) = case readSeconds s of
      Just us -> go opts {optTimeout = us} rest
      Nothing -> badUsage ("bad timeout: " ++ s)
    go opts ("--retries" : n : rest)
      | not (null n), all isDigit n = go opts {optRetries = read n} rest
      | otherwise = badUsage ("bad retries: " ++ n)
    go _ (arg : _) = badUsage (unexpected arg)
    unexpected arg@('-' : _) = "unknown option: " ++ arg
    unexpected arg = "unexpected argument: " ++ arg

-- | A dotted-quad IPv4 address, as inet_pton(3) reads one: four decimal
-- numbers 0-255, no leading zeros.  No names: there is no resolving here.
readIPv4 :: String -> Maybe HostAddress
readIPv4 s = case map octet (splitDots s) of
  [Just a, Just b, Just c, Just d] -> Just (tupleToHostAddress (a, b, c, d))
  _ -> Nothing
  where
    splitDots str = case break (== '.') str of
      (part, _ : rest) -> part : splitDots rest
      (part, []) -> [part]
    octet p
      | not (null p), length p <= 3, all isDigit p, p == "0" || head p /= '0', n <= 255 = Just (fromIntegral n)
      | otherwise = Nothing
      where
        n = read p :: Int

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
  hPutStrLn stderr ("raw_client: " ++ msg)
  hPutStrLn stderr usage
  exitWith (ExitFailure 2)
