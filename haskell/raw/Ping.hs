-- Ping.hs -- ping over a raw ICMP socket: echo requests built, checksummed and matched by hand (IPv4 only)
{-# LANGUAGE CApiFFI #-}

module Main (main) where

import Control.Exception (IOException, bracket, catch, try)
import Control.Monad (foldM, when)
import Data.Bits (complement, shiftL, shiftR, (.&.), (.|.))
import qualified Data.ByteString as BS
import Data.ByteString.Builder (byteString, toLazyByteString, word16BE, word64BE, word8)
import qualified Data.ByteString.Lazy as BL
import Data.Char (isDigit)
import Data.List (foldl', intercalate)
import Data.Ratio ((%))
import Data.Word (Word16, Word32, Word64)
import Foreign.C.Error (Errno (..), ePERM)
import Foreign.C.Types (CInt (..))
import GHC.Clock (getMonotonicTimeNSec)
import GHC.IO.Exception (ioe_description, ioe_errno)
import Network.Socket
import Network.Socket.ByteString (recvFrom, sendTo)
import System.Environment (getArgs)
import System.Exit (ExitCode (..), exitWith)
import System.IO
import System.Posix.Process (getProcessID)
import System.Posix.User (getEffectiveUserID, getUserEntryForName, setGroupID, setGroups, setUserID, userGroupID, userID)
import System.Timeout (timeout)
import Text.Printf (printf)

-- Every socket so far let the kernel build the packets: TCP and UDP
-- headers, IP headers, checksums.  A raw socket (SOCK_RAW) hands us one
-- protocol's packets as they are and sends what we build, byte for byte.
-- Here the protocol is ICMP, the Internet's control messages, and the
-- message is the one `ping` sends: an echo request, which any host answers
-- with an echo reply carrying the same identifier, sequence number and data.
--
-- IPv4 only.  ICMPv6 differs in the details (types 128 and 129, a checksum
-- the kernel must compute because it covers an IPv6 pseudo-header, no IP
-- header on receive), and this listing keeps to one family; the C and
-- Python examples show both.

usage :: String
usage = "usage: ping --host H [--count N] [--timeout S]"

data Options = Options
  { optHost :: Maybe HostAddress, -- the address to ping, numeric IPv4
    optCount :: Integer, -- how many requests
    optTimeout :: Int -- microseconds to wait for each reply
  }

-- | The bytes after ICMP's 8-byte header: an 8-byte send time, then these
-- 48 bytes, 56 in all (the classic ping's size): 64 bytes of ICMP message.
filler :: BS.ByteString
filler = BS.pack [0x20 .. 0x4f]

main :: IO ()
main = do
  hSetBuffering stdout LineBuffering
  hSetBuffering stderr LineBuffering
  opts <- parseArgs =<< getArgs
  host <- maybe (badUsage "missing --host") return (optHost opts)
  -- The identifier tells our replies from other programs' (a raw ICMP
  -- socket sees them all): like ping(8), the low 16 bits of our pid.
  pid <- getProcessID
  let ident = fromIntegral pid :: Word16
      count = optCount opts
  received <- bracket openIcmp close $ \sock -> do
    dropPrivileges
    foldM
      (\n k -> (\ok -> if ok then n + 1 else n) <$> pingOnce sock host ident (optTimeout opts) k)
      0
      [1 .. count]
  say $
    show count ++ " sent, " ++ show received ++ " received, "
      ++ show ((count - received) * 100 `div` count)
      ++ "% loss"
  exitWith (if received == count then ExitSuccess else ExitFailure 1)

-- ANCHOR: open
-- | socket(AF_INET, SOCK_RAW, IPPROTO_ICMP): an IPv4 socket that receives a
-- copy of every ICMP packet the host receives -- whoever it is for -- and
-- sends ICMP messages we build ourselves.  The kernel still writes the IP
-- header of what we send (we would have to set IP_HDRINCL to write it too).
-- Only a process with CAP_NET_RAW may open one: it could read other
-- programs' traffic and forge packets.  Without it, socket fails with EPERM.
--
-- network's `socket` takes the protocol number as given; Raw is SOCK_RAW.
-- The socket is non-blocking, like all of network's sockets: GHC's I/O
-- manager does the waiting, so System.Timeout can interrupt it.
openIcmp :: IO Socket
openIcmp =
  socket AF_INET Raw ipprotoIcmp `catch` \e ->
    if ioe_errno e == Just eperm
      then die ("a raw socket needs CAP_NET_RAW (run as root): " ++ ioe_description e)
      else failWith "socket" e
  where
    Errno eperm = ePERM

-- | IPPROTO_ICMP (1), read from the C header by the CApiFFI extension.
foreign import capi "netinet/in.h value IPPROTO_ICMP" ipprotoIcmp :: ProtocolNumber

-- | Give up root as soon as the socket is open.  The privilege is checked
-- when a raw socket is created, not when it is used, so the open socket
-- keeps working; everything after this line -- every packet we parse,
-- which anybody on the network may have sent -- runs as user nobody, who
-- can do little harm if a bug lets a packet take over.
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

-- | Send request number k, wait for its reply, print one line; True if
-- the reply came.
pingOnce :: Socket -> HostAddress -> Word16 -> Int -> Integer -> IO Bool
pingOnce sock host ident wait k = do
  -- The sequence field has 16 bits: after 65,535 it starts again at 0.
  let seqNo = fromIntegral k :: Word16
  sentAt <- getMonotonicTimeNSec
  sent <- sendRequest sock host (echoRequest ident seqNo sentAt)
  reply <-
    if sent
      then awaitReply sock ident seqNo (toInteger sentAt + toInteger wait * 1000)
      else return Nothing
  case reply of
    Just (from, size, rtt) -> do
      say (printf "reply from %s: seq=%d bytes=%d time=%.3f ms" (showHost from) seqNo size rtt)
      return True
    Nothing -> do
      say ("no reply from " ++ showHost host ++ ": seq=" ++ show seqNo)
      return False

-- ANCHOR: build
-- | An ICMP echo request (type 8, code 0), every field big-endian:
--
--   type 8 | code 0 | checksum (16) | identifier (16) | sequence (16) |
--   send time (64: nanoseconds of the monotonic clock) | 48 filler bytes
--
-- The reply carries the data back unchanged, so the send time comes home
-- with it: the round trip is "now" minus the time in the reply, and we
-- need to remember nothing per request.  The checksum is computed over the
-- message with the field still 0, then written into it.
echoRequest :: Word16 -> Word16 -> Word64 -> BS.ByteString
echoRequest ident seqNo sentAt = BS.take 2 unsummed <> be16Bytes (checksum unsummed) <> BS.drop 4 unsummed
  where
    unsummed =
      BL.toStrict . toLazyByteString $
        word8 8 <> word8 0 <> word16BE 0 <> word16BE ident <> word16BE seqNo
          <> word64BE sentAt
          <> byteString filler
    be16Bytes w = BS.pack [fromIntegral (w `shiftR` 8), fromIntegral w]
-- ANCHOR_END: build

-- ANCHOR: checksum
-- | The Internet checksum (RFC 1071), which IP, ICMP, UDP and TCP all use:
--
--   1. read the message as 16-bit big-endian words, padding an odd last
--      byte with a zero byte;
--   2. add them up, in 32 bits, so that the carries out of bit 15 are kept;
--   3. fold: add those carries back into the low 16 bits (one's-complement
--      addition), again until there are none;
--   4. invert every bit.
--
-- A sender computes it with the checksum field 0 and stores it there.  The
-- receiver sums the whole message, field included: the field is the
-- inverse of everything else, so the folded sum is 0xffff and the
-- inverted result 0 -- unless something changed on the way.
checksum :: BS.ByteString -> Word16
checksum msg = complement (fold (foldl' (+) 0 (map word [0, 2 .. size - 1])))
  where
    size = BS.length msg
    byte i = if i < size then fromIntegral (BS.index msg i) else 0 :: Word32
    word i = byte i `shiftL` 8 .|. byte (i + 1)
    fold s
      | s > 0xffff = fold ((s .&. 0xffff) + (s `shiftR` 16))
      | otherwise = fromIntegral s
-- ANCHOR_END: checksum

-- ANCHOR: send
-- | sendto(2) on a raw socket: the message goes to the address we name,
-- inside an IP packet the kernel builds (protocol 1, our address as the
-- source).  ICMP has no ports; the sockaddr_in's port is unused, so 0.
-- A message is sent whole or not at all.  A failure (no route to the host:
-- "Network is unreachable") is reported on stderr and counts as a request
-- without a reply; ping goes on with the next one.
sendRequest :: Socket -> HostAddress -> BS.ByteString -> IO Bool
sendRequest sock host msg = do
  result <- try (sendTo sock msg (SockAddrInet 0 host))
  case result of
    Right _ -> return True
    Left e -> do
      hPutStrLn stderr ("ping: send to " ++ showHost host ++ ": " ++ ioe_description (e :: IOException))
      return False
-- ANCHOR_END: send

-- ANCHOR: receive
-- | Read packets until our reply arrives or the deadline (nanoseconds of
-- the monotonic clock) passes.  Returns the reply's source, the ICMP
-- message's length and the round trip in milliseconds.
--
-- A raw ICMP socket gets a copy of every ICMP packet the host receives:
-- other programs' pings and their replies, error messages, and on loopback
-- our own echo request too, because it is received by this very host.  So
-- most of what arrives is not for us, and each packet must pass every test
-- before we believe it: an echo reply (type 0, code 0), with our
-- identifier and the sequence number we are waiting for.  A late reply to
-- an earlier request has the wrong sequence number and is skipped.  Then
-- we verify its checksum and drop it if it is bad.
--
-- recvfrom(2) returns the sender's address and the packet -- on an IPv4
-- raw socket the whole packet, IP header first (see icmpMessage).  The
-- waiting is done by System.Timeout.timeout, given what is left of the
-- time, so that a stream of other ICMP traffic cannot keep us waiting
-- longer than --timeout.
awaitReply :: Socket -> Word16 -> Word16 -> Integer -> IO (Maybe (HostAddress, Int, Double))
awaitReply sock ident seqNo deadline = loop
  where
    loop = do
      now <- toInteger <$> getMonotonicTimeNSec
      if now >= deadline
        then return Nothing
        else do
          let left = fromInteger (min ((deadline - now + 999) `div` 1000) (toInteger (maxBound :: Int)))
          got <- timeout left (recvFrom sock 65536) `catch` failWith "receive"
          case got of
            Nothing -> return Nothing
            Just (packet, SockAddrInet _ from)
              | Just icmp <- icmpMessage packet, isOurReply icmp -> do
                  arrived <- getMonotonicTimeNSec
                  let rtt = fromIntegral (toInteger arrived - toInteger (be64 icmp 8)) / 1e6
                  return (Just (from, BS.length icmp, max 0 rtt))
            Just _ -> loop
    isOurReply icmp =
      BS.length icmp >= 16 -- header and send time
        && BS.index icmp 0 == 0 -- type: echo reply
        && BS.index icmp 1 == 0 -- code
        && be16 icmp 4 == ident
        && be16 icmp 6 == seqNo
        && checksum icmp == 0 -- summed with its own checksum: 0 if intact

-- | The ICMP message in an IPv4 packet.  The kernel gives a raw IPv4
-- socket the IP header as well: its first byte holds the version (4) in
-- the high 4 bits and the header length in 32-bit words (IHL) in the low
-- 4, usually 5 (20 bytes), more if the packet carries IP options.  Skip
-- IHL * 4 bytes and the ICMP message starts.  (Bytes 12..15 of the header
-- are the source address, the same one recvfrom reports.)
icmpMessage :: BS.ByteString -> Maybe BS.ByteString
icmpMessage packet
  | BS.length packet < 20 || BS.length packet < ihl = Nothing
  | otherwise = Just (BS.drop ihl packet)
  where
    ihl = fromIntegral (BS.head packet .&. 0x0f) * 4
-- ANCHOR_END: receive

-- | Big-endian (network order) numbers in a message, at a byte offset.
be16 :: BS.ByteString -> Int -> Word16
be16 bs i = fromIntegral (BS.index bs i) `shiftL` 8 .|. fromIntegral (BS.index bs (i + 1))

be64 :: BS.ByteString -> Int -> Word64
be64 bs i = foldl' (\acc j -> acc `shiftL` 8 .|. fromIntegral (BS.index bs (i + j))) 0 [0 .. 7]

-- | An IPv4 address as 127.0.0.1.
showHost :: HostAddress -> String
showHost host = intercalate "." (map show [a, b, c, d])
  where
    (a, b, c, d) = hostAddressToTuple host

-- | One line on stdout.  hFlush now, so that a failed write (a closed
-- stdout) is reported here and not lost in the flush at exit.
say :: String -> IO ()
say line = (putStrLn line >> hFlush stdout) `catch` failWith "write stdout"

-- | A failed step: one line that says which step and why, and exit 1.
-- ioe_description is the system's own text for the error (strerror).
failWith :: String -> IOException -> IO a
failWith what e = die (what ++ ": " ++ ioe_description e)

die :: String -> IO a
die msg = do
  hPutStrLn stderr ("ping: " ++ msg)
  exitWith (ExitFailure 1)

-- | The command line: --host H (required, numeric IPv4), --count N (a
-- whole number from 1, default 3), --timeout S (default 1 second).
parseArgs :: [String] -> IO Options
parseArgs = go (Options Nothing 3 1000000)
  where
    go opts [] = return opts
    go _ ("--help" : _) = putStrLn usage >> exitWith ExitSuccess
    go opts ("--host" : h : rest)
      | Just addr <- readIPv4 h = go opts {optHost = Just addr} rest
      | otherwise = badUsage ("bad host: " ++ h ++ " (a numeric IPv4 address; IPv6 is in the C and Python examples)")
    go opts ("--count" : n : rest)
      | not (null n), all isDigit n, read n >= (1 :: Integer) = go opts {optCount = read n} rest
      | otherwise = badUsage ("bad count: " ++ n)
    go opts ("--timeout" : s : rest)
      | Just us <- readSeconds s = go opts {optTimeout = us} rest
      | otherwise = badUsage ("bad timeout: " ++ s)
    go _ [flag]
      | flag `elem` ["--host", "--count", "--timeout"] = badUsage ("missing value for " ++ flag)
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
  hPutStrLn stderr ("ping: " ++ msg)
  hPutStrLn stderr usage
  exitWith (ExitFailure 2)
