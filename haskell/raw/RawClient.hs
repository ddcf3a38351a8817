-- RawClient.hs -- a client for an IP protocol of our own (253): one raw socket that sees every such packet, and picks out its reply
module Main (main) where

import Control.Exception (IOException, bracket, catch)
import Control.Monad (when)
import Data.Bits ((.&.))
import qualified Data.ByteString as BS
import Data.Char (isDigit)
import Data.List (intercalate)
import Data.Ratio ((%))
import Foreign.C.Error (Errno (..), ePERM)
import GHC.Clock (getMonotonicTimeNSec)
import GHC.IO.Exception (ioe_description, ioe_errno)
import Network.Socket
import Network.Socket.ByteString (recvFrom, sendTo)
import System.Environment (getArgs)
import System.Exit (ExitCode (..), exitWith)
import System.IO
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
  host <- maybe (badUsage "missing --host") return (optHost opts)
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
-- | socket(AF_INET, SOCK_RAW, 253).  Unlike the server's, this socket is
-- not bound to an address, so it receives a copy of EVERY protocol-253
-- packet the host receives, whoever it is for: other clients' requests
-- and replies, and -- since on loopback our request is received by this
-- very host -- our own request.  What it sends, the kernel wraps in an IP
-- header (protocol 253, the source address the route to the server
-- picks).  Opening it needs CAP_NET_RAW, hence the EPERM message.
-- network's `socket` takes the protocol number as given; Raw is SOCK_RAW.
openRaw :: IO Socket
openRaw =
  socket AF_INET Raw protocol `catch` \e ->
    if ioe_errno e == Just eperm
      then die ("a raw socket needs CAP_NET_RAW (run as root): " ++ ioe_description e)
      else failWith "socket" e
  where
    Errno eperm = ePERM

-- | Give up root as soon as the socket is open.  The privilege is checked
-- when a raw socket is created, not when it is used, so the open socket
-- keeps working; everything after this line -- every packet we parse,
-- which anybody may have sent -- runs as user nobody, who can do little
-- harm if a bug lets a packet take over.
--
-- The order matters: setgroups (drop the supplementary groups) and setgid
-- need root, so they come first; setuid as root sets the real, effective
-- and saved user ids at once, so there is no way back.  (GHC's threaded
-- runtime runs several OS threads; glibc applies each call to all of them.)
-- Only root has anything to drop: run by anyone else, we keep who we are.
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
--
-- recvFrom (recvfrom(2)) returns one IP packet and the address it came
-- from; the packet starts with the IP header (see `message`).  Most
-- packets are not the one we want -- our own request comes back first on
-- loopback -- so we accept only a reply (type 2, then 0) FROM THE SERVER'S
-- ADDRESS carrying OUR IDENTIFIER, and keep reading until it arrives or
-- this attempt's time is up.  The deadline is fixed when we send, so a
-- stream of other packets cannot stretch the wait; System.Timeout.timeout
-- interrupts recvFrom when what is left of it has passed.
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
        Just payload ->
          -- hFlush now, so that a failed write (a closed stdout) is
          -- reported here and not lost in the flush at exit.
          (BS.hPut stdout payload >> hFlush stdout) `catch` failWith "write stdout"
        Nothing
          -- No reply in time: our request or the reply is lost (or just
          -- late).  Send it again, as IP will not.
          | k < attempts -> attempt (k + 1)
          | otherwise ->
              die ("no reply from " ++ showHost host ++ " after " ++ show attempts ++ " attempts")
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

-- | Our message in an IPv4 packet.  The first byte of the IP header holds
-- the version (4) in its high 4 bits and the header's length in 32-bit
-- words (IHL) in its low 4: usually 5, 20 bytes, more with IP options.
-- Skip IHL * 4 bytes and our message begins.  (Bytes 12..15 of the header
-- are the source address, the same one recvfrom reports.)
message :: BS.ByteString -> Maybe BS.ByteString
message packet
  | BS.length packet < 20 || BS.length packet < ihl = Nothing
  | otherwise = Just (BS.drop ihl packet)
  where
    ihl = fromIntegral (BS.head packet .&. 0x0f) * 4
-- ANCHOR_END: receive

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

-- | The command line: --host A (required, numeric IPv4), --timeout S
-- (default 1 second), --retries N (default 3).
parseArgs :: [String] -> IO Options
parseArgs = go (Options Nothing 1000000 3)
  where
    go opts [] = return opts
    go _ ("--help" : _) = putStrLn usage >> exitWith ExitSuccess
    go opts ("--host" : h : rest)
      | Just addr <- readIPv4 h = go opts {optHost = Just addr} rest
      | otherwise = badUsage ("bad host: " ++ h ++ " (a numeric IPv4 address)")
    go opts ("--timeout" : s : rest)
      | Just us <- readSeconds s = go opts {optTimeout = us} rest
      | otherwise = badUsage ("bad timeout: " ++ s)
    go opts ("--retries" : n : rest)
      | not (null n), all isDigit n = go opts {optRetries = read n} rest
      | otherwise = badUsage ("bad retries: " ++ n)
    go _ [flag]
      | flag `elem` ["--host", "--timeout", "--retries"] = badUsage ("missing value for " ++ flag)
    go _ (arg : _) = badUsage ("unknown argument: " ++ arg)

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

-- | Seconds as a decimal number greater than 0 ("1", "0.2", ".5"), turned
-- into whole microseconds: rounded up, so that 0.0000001 does not become
-- "no wait at all", and at most what an Int holds.
readSeconds :: String -> Maybe Int
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
  hPutStrLn stderr ("raw_client: " ++ msg)
  hPutStrLn stderr usage
  exitWith (ExitFailure 2)
