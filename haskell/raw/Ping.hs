-- Ping.hs -- ping over a raw ICMP socket: echo requests built, checksummed and matched by hand (IPv4 only)
module Main (main) where

import Control.Exception (IOException, bracket, catch, try)
import Control.Monad (foldM, when)
import Data.Bits (complement, shiftL, shiftR, (.&.), (.|.))
import qualified Data.ByteString as BS
import Data.ByteString.Builder (byteString, toLazyByteString, word16BE, word64BE, word8)
import qualified Data.ByteString.Lazy as BL
import Data.Char (isDigit)
import Data.List (foldl', intercalate, isPrefixOf)
import Data.Ratio ((%))
import Data.Word (Word16, Word32, Word64)
import Foreign.C.Error (Errno (..), ePERM)
import GHC.Clock (getMonotonicTimeNSec)
import GHC.IO.Exception (ioe_description, ioe_errno)
import Libc (ipprotoIcmp)
import Network.Socket
import Network.Socket.ByteString (recvFrom, sendTo)
import System.Environment (getArgs)
import System.Exit (ExitCode (..), exitWith)
import System.IO
import System.Posix.Files (readSymbolicLink)
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
  host <- maybe (badUsage "--host is required") return (optHost opts)
  checkStdout
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
-- | socket(AF_INET, SOCK_RAW, IPPROTO_ICMP): network's `socket` takes the
-- protocol number as given (ipprotoIcmp, from Libc.hs, is read from the C
-- header); Raw is SOCK_RAW.  Like all of network's sockets it is
-- non-blocking: GHC's I/O manager does the waiting, so System.Timeout can
-- interrupt it.  Without CAP_NET_RAW, socket throws EPERM.
openIcmp :: IO Socket
openIcmp =
  socket AF_INET Raw ipprotoIcmp `catch` \e ->
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
-- | An ICMP echo request: type 8, code 0, checksum, identifier, sequence
-- number, then the send time (nanoseconds of the monotonic clock) and the
-- filler.  A Builder (Data.ByteString.Builder) writes the fields, word16BE
-- and word64BE in network byte order; the checksum is computed with its
-- field still 0, then put in its place.
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
-- | The Internet checksum (RFC 1071): the 16-bit big-endian words (an odd
-- last byte padded with 0) summed in a Word32, so that the carries are
-- kept, folded back into 16 bits, and inverted (complement).  foldl' sums
-- as it goes, where a lazy foldl would build the whole sum first.
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
-- | sendTo is sendto(2): the kernel wraps the message in an IP header.
-- ICMP has no ports, so the SockAddrInet's port is 0.  A failure ("Network
-- is unreachable") is reported and counts as a request without a reply;
-- ping goes on with the next one.
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
-- the monotonic clock) passes: the reply's source, the ICMP message's length
-- and the round trip in milliseconds.  recvFrom is recvfrom(2); each wait is
-- System.Timeout.timeout with what is left of the time, so a stream of other
-- ICMP traffic cannot keep us longer than --timeout.  A packet that fails
-- any test of isOurReply is skipped.
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

-- | The ICMP message in an IPv4 packet: skip the IP header, IHL (the low 4
-- bits of its first byte) times 4 bytes.
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

-- | Started with stdout closed (`ping >&-`)?  Then say so before any socket
-- exists: the socket would get descriptor 1, and what we "print" would go
-- into it.  C asks fcntl(1, F_GETFD); in Haskell that is too late, because
-- GHC's runtime opens descriptors of its own before main runs (its I/O
-- manager's epoll instance, its timer), and the first of them takes the
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
-- --host H (required, numeric IPv4), --count N (a whole number from 1,
-- default 3), --timeout S (default 1 second).
parseArgs :: [String] -> IO Options
parseArgs = go (Options Nothing 3 1000000)
  where
    go opts [] = return opts
    go _ ("--help" : _) = putStrLn usage >> exitWith ExitSuccess
    go _ [flag]
      | flag `elem` ["--host", "--count", "--timeout"] = badUsage (flag ++ " needs a value")
    go opts ("--host" : h : rest) = case readIPv4 h of
      Just addr -> go opts {optHost = Just addr} rest
      Nothing
        | ':' `elem` h -> badUsage ("bad host: " ++ h ++ " (this ping does IPv4 only, not IPv6)")
        | otherwise -> badUsage ("bad host: " ++ h)
    go opts ("--count" : n : rest)
      | not (null n), all isDigit n, read n >= (1 :: Integer) = go opts {optCount = read n} rest
      | otherwise = badUsage ("bad count: " ++ n)
    go opts ("--timeout" : s : rest) = case readSeconds s of
      Just us -> go opts {optTimeout = us} rest
      Nothing -> badUsage ("bad timeout: " ++ s)
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
  hPutStrLn stderr ("ping: " ++ msg)
  hPutStrLn stderr usage
  exitWith (ExitFailure 2)
