-- RawServer.hs -- a server for an IP protocol of our own (253): a raw socket, the IP header skipped, replies built by hand
module Main (main) where

import Control.Concurrent (myThreadId, throwTo)
import Control.Exception (IOException, bracket, catch, throwIO, try)
import Control.Monad (forever, when)
import Data.Bits ((.&.))
import qualified Data.ByteString as BS
import Data.Char (isDigit)
import Data.List (intercalate)
import Foreign.C.Error (Errno (..), ePERM)
import GHC.IO.Exception (ioe_description, ioe_errno)
import Network.Socket
import Network.Socket.ByteString (recvFrom, sendTo)
import System.Environment (getArgs)
import System.Exit (ExitCode (..), exitWith)
import System.IO
import System.Posix.Signals (Handler (..), installHandler, sigINT, sigTERM)
import System.Posix.User (getEffectiveUserID, getUserEntryForName, setGroupID, setGroups, setUserID, userGroupID, userID)

-- TCP and UDP are protocols 6 and 17 on top of IP; the protocol number in
-- every IPv4 header tells the receiving kernel which one gets the packet.
-- A raw socket can claim any protocol number, even one the kernel knows
-- nothing about, and then it receives those packets itself.  We use 253,
-- set aside for experiments (RFC 3692), with a 4-byte header of our own:
--
--   type (1 = request, 2 = reply) | 0 | identifier (16 bits, big-endian)
--
-- and 0 to 1,400 bytes of payload.  The server answers each request with
-- a reply carrying the same identifier and payload.  There are no ports:
-- one raw socket per address sees every protocol-253 packet sent to it, so
-- the identifier is what lets a client tell its own reply from others'.

usage :: String
usage = "usage: raw_server [--host A]"

-- | The most payload a message may carry, and so the most we echo.
maxPayload :: Int
maxPayload = 1400

-- | Our protocol number: reserved for experimentation and testing (RFC 3692).
protocol :: ProtocolNumber
protocol = 253

main :: IO ()
main = do
  hSetBuffering stdout LineBuffering
  hSetBuffering stderr LineBuffering
  host <- parseArgs =<< getArgs

  -- ANCHOR: stop
  -- SIGTERM and SIGINT are delivered to a fresh Haskell thread, not to the one
  -- blocked in recvFrom.  The handler logs the signal and throws ExitSuccess at
  -- the main thread: that interrupts the blocking call, the `bracket` that
  -- opened the socket closes it on the way out, and main ends with exit
  -- status 0.
  mainThread <- myThreadId
  let stop name = Catch $ do
        logLine ("stopping on " ++ name)
        throwTo mainThread ExitSuccess
  _ <- installHandler sigTERM (stop "SIGTERM") Nothing
  _ <- installHandler sigINT (stop "SIGINT") Nothing
  -- ANCHOR_END: stop

  run host `catch` \e -> do
    -- Only start-up errors (and a failing receive) get this far; each
    -- packet's errors are caught in serveLoop.
    hPutStrLn stderr ("raw_server: " ++ ioe_description e)
    exitWith (ExitFailure 1)

run :: HostAddress -> IO ()
run host =
  bracket (open host) close $ \sock -> do
    dropPrivileges
    announce sock
    serveLoop sock

-- ANCHOR: open
-- | socket(AF_INET, SOCK_RAW, 253): from now on the kernel hands this
-- socket a copy of every IPv4 packet whose protocol field is 253 -- the
-- whole packet, IP header included -- and sends what we write as the
-- payload of a protocol-253 packet, writing the IP header itself.  Opening
-- one needs CAP_NET_RAW (EPERM without it): a raw socket can see traffic
-- that is not its own.  network's `socket` takes the protocol number as
-- given; Raw is SOCK_RAW.
--
-- bind on a raw socket has no port to claim; it picks the address: the
-- socket then receives only packets sent to that address, and what it
-- sends leaves from it.  That is how several servers on 127.53.0.1,
-- 127.53.0.2, ... share one protocol number without seeing each other's
-- requests.  (Every address in 127.0.0.0/8 is on the loopback interface.)
open :: HostAddress -> IO Socket
open host = do
  sock <- socket AF_INET Raw protocol `catch` \e ->
    if ioe_errno e == Just eperm
      then failAs "a raw socket needs CAP_NET_RAW (run as root)" e
      else failAs "socket" e
  -- bind fails if no interface has this address: EADDRNOTAVAIL.
  bind sock (SockAddrInet 0 host) `catch` \e -> do
    close sock
    failAs ("bind " ++ showHost host) e
  return sock
  where
    Errno eperm = ePERM

-- | Give up root as soon as the socket is open.  The privilege is checked
-- when a raw socket is created, not when it is used, so the open socket
-- keeps working; everything after this line -- every packet we parse,
-- which anybody who can reach us may have sent -- runs as user nobody, who
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
    nobody <- getUserEntryForName "nobody" `catch` failAs "look up user nobody"
    setGroups [] `catch` failAs "setgroups"
    setGroupID (userGroupID nobody) `catch` failAs "setgid"
    setUserID (userID nobody) `catch` failAs "setuid"
-- ANCHOR_END: open

-- | Print the READY line.
announce :: Socket -> IO ()
announce sock = do
  -- ANCHOR: ready
  -- getSocketName (getsockname) reports the address we are bound to.  A raw
  -- socket has no port to show (the kernel puts the protocol number where
  -- the port would be), so the READY line holds the address alone.
  bound <- getSocketName sock
  case bound of
    SockAddrInet _ host -> putStrLn ("READY " ++ showHost host)
    other -> putStrLn ("READY " ++ show other)
  hFlush stdout -- whoever started us is waiting for this line
  -- ANCHOR_END: ready

-- ANCHOR: serve
-- | Receive a packet, answer it if it is a request, forever.
--
-- recvFrom is recvfrom(2): one whole IP packet (an IPv4 packet is at most
-- 65,535 bytes, so a 64 KiB buffer never cuts one short) and the address
-- it came from.  The packet starts with the IP header, which the kernel
-- leaves in for a raw IPv4 socket; `message` skips it.
--
-- Not every protocol-253 packet sent to our address is a request.  If a
-- client runs on this same address, our own replies to it arrive here
-- too; and anybody may send anything.  So we check every byte we rely on
-- and silently ignore what is not a well-formed request: shorter than the
-- 4-byte header, a type other than 1, a second byte other than 0, or more
-- payload than a message may carry.
--
-- The reply is the request with its type changed to 2: same identifier,
-- same payload.  sendTo (sendto(2)) sends it to the request's source; the
-- kernel wraps it in an IP header with protocol 253 and our address as
-- the source.  The port in the address means nothing here, so 0.  Any
-- problem with one packet is logged and the loop goes on: nothing a peer
-- sends can stop the server.
serveLoop :: Socket -> IO ()
serveLoop sock = forever $ do
  (packet, from) <- recvFrom sock 65536
  case (from, message packet) of
    (SockAddrInet _ source, Just msg) | isRequest msg -> do
      let name = showHost source
          reply = BS.pack [2, 0] <> BS.drop 2 msg
      logLine (show (BS.length msg - 4) ++ " bytes from " ++ name)
      sent <- try (sendTo sock reply (SockAddrInet 0 source))
      case sent of
        Right _ -> return ()
        Left e -> logLine (name ++ ": send: " ++ ioe_description (e :: IOException))
    _ -> return ()
  where
    isRequest msg =
      BS.length msg >= 4
        && BS.index msg 0 == 1 -- a request
        && BS.index msg 1 == 0
        && BS.length msg - 4 <= maxPayload

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
-- ANCHOR_END: serve

-- | An IPv4 address as 127.0.0.1.
showHost :: HostAddress -> String
showHost host = intercalate "." (map show [a, b, c, d])
  where
    (a, b, c, d) = hostAddressToTuple host

logLine :: String -> IO ()
logLine msg = hPutStrLn stderr ("raw_server: " ++ msg)

-- | Fail with a message that says which step went wrong ("bind 10.9.9.9:
-- Cannot assign requested address").  ioe_description is the system's own
-- text for the error (strerror); `show` would add the Haskell function
-- and socket names.
failAs :: String -> IOException -> IO a
failAs what e = throwIO (userError (what ++ ": " ++ ioe_description e))

-- | The command line: --host A (default 127.0.0.1, numeric IPv4).
parseArgs :: [String] -> IO HostAddress
parseArgs = go (tupleToHostAddress (127, 0, 0, 1))
  where
    go host [] = return host
    go _ ("--help" : _) = putStrLn usage >> exitWith ExitSuccess
    go _ ("--host" : h : rest)
      | Just addr <- readIPv4 h = go addr rest
      | otherwise = badUsage ("bad host: " ++ h ++ " (a numeric IPv4 address)")
    go _ ["--host"] = badUsage "missing value for --host"
    go _ (arg : _) = badUsage ("unknown argument: " ++ arg)
    badUsage msg = do
      hPutStrLn stderr ("raw_server: " ++ msg)
      hPutStrLn stderr usage
      exitWith (ExitFailure 2)

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
