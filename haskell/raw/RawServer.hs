-- RawServer.hs -- a server for an IP protocol of our own (253): a raw socket, the IP header skipped, replies built by hand
module Main (main) where

import Control.Concurrent (myThreadId, throwTo)
import Control.Exception (IOException, bracket, bracketOnError, catch, throwIO, try)
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
    -- Only start-up errors get this far; each packet's errors are caught in
    -- serveLoop.
    hPutStrLn stderr ("raw_server: " ++ ioe_description e)
    exitWith (ExitFailure 1)

run :: HostAddress -> IO ()
run host =
  bracket (open host) close $ \sock -> do
    dropPrivileges
    announce sock
    serveLoop sock

-- ANCHOR: open
-- | socket(AF_INET, SOCK_RAW, 253): network's `socket` takes the protocol
-- number as given; Raw is SOCK_RAW.  Without CAP_NET_RAW it throws EPERM.
-- bind picks the address whose packets we get (there is no port):
-- SockAddrInet's port is 0.  bracketOnError closes the socket if bind
-- throws (EADDRNOTAVAIL: no interface has this address).
open :: HostAddress -> IO Socket
open host = do
  let raw = socket AF_INET Raw protocol `catch` \e ->
        if ioe_errno e == Just eperm
          then failAs "a raw socket needs CAP_NET_RAW (run as root)" e
          else failAs "socket" e
  bracketOnError raw close $ \sock -> do
    bind sock (SockAddrInet 0 host) `catch` failAs ("bind " ++ showHost host)
    return sock
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
-- | Receive a packet, answer it if it is a request, forever.  recvFrom is
-- recvfrom(2): one whole IP packet, header first, and its source; sendTo
-- (sendto(2)) sends the reply back there, and the kernel writes its IP
-- header.  Anything that is not a well-formed request is ignored.  `try`
-- turns a failed call into a Left, which is logged: the loop goes on.
serveLoop :: Socket -> IO ()
serveLoop sock = forever $ do
  received <- try (recvFrom sock 65536)
  case received of
    Left e -> logLine ("recvfrom: " ++ ioe_description e)
    Right (packet, SockAddrInet _ source)
      | Just msg <- message packet, isRequest msg -> do
          let name = showHost source
              reply = BS.pack [2, 0] <> BS.drop 2 msg -- same identifier and payload
          logLine (show (BS.length msg - 4) ++ " bytes from " ++ name)
          sent <- try (sendTo sock reply (SockAddrInet 0 source))
          case sent of
            Right _ -> return ()
            Left e -> logLine (name ++ ": " ++ ioe_description e)
    Right _ -> return ()
  where
    isRequest msg =
      BS.length msg >= 4
        && BS.index msg 0 == 1 -- a request
        && BS.index msg 1 == 0
        && BS.length msg - 4 <= maxPayload

-- | Our message in an IPv4 packet: skip the IP header, IHL (the low 4 bits
-- of its first byte) times 4 bytes.
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

-- | The command line, left to right; the first problem is the one reported.
-- --host A (default 127.0.0.1, numeric IPv4).
parseArgs :: [String] -> IO HostAddress
parseArgs = go (tupleToHostAddress (127, 0, 0, 1))
  where
    go host [] = return host
    go _ ("--help" : _) = putStrLn usage >> exitWith ExitSuccess
    go _ ["--host"] = badUsage "--host needs a value"
    go _ ("--host" : h : rest) = maybe (badUsage ("bad host: " ++ h)) (`go` rest) (readIPv4 h)
    go _ (arg : _) = badUsage (unexpected arg)
    unexpected arg@('-' : _) = "unknown option: " ++ arg
    unexpected arg = "unexpected argument: " ++ arg
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
