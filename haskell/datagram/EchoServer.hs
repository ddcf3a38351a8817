-- EchoServer.hs -- a UDP echo server: one socket, recvfrom and sendto, every datagram answered on its own
module Main (main) where

import Control.Concurrent (myThreadId, throwTo)
import Control.Exception (IOException, bracket, bracketOnError, catch, throwIO, try)
import Control.Monad (forever)
import Data.Bits ((.&.))
import qualified Data.ByteString as BS
import Data.Char (isDigit)
import Data.List (intercalate)
import Data.Maybe (fromMaybe)
import GHC.IO.Exception (ioe_description)
import Network.Socket
import Network.Socket.ByteString (recvMsg, sendTo)
import System.Environment (getArgs)
import System.Exit (ExitCode (..), exitWith)
import System.IO
import System.Posix.Signals (Handler (..), installHandler, sigINT, sigTERM)

-- A datagram socket (SOCK_DGRAM; UDP over IP) is not a connection.  There is
-- no listen, no accept and no per-client socket: one socket receives
-- datagrams from anybody, and each arrives with its sender's address, which
-- is where we send the answer.  What UDP keeps is message boundaries: one
-- send is one datagram, and one receive returns exactly one datagram, never
-- half of one and never two glued together.  What it does not give is
-- everything TCP does: a datagram may be lost, arrive twice, or overtake an
-- earlier one, and nobody is told.  A client that cares must time out and
-- ask again (see EchoClient.hs).

usage :: String
usage = "usage: echo_server [--host H] [--port P]"

-- | The receive buffer.  A UDP datagram carries at most 65,507 bytes over
-- IPv4 (the IP packet's 16-bit length field allows 65,535 bytes, minus 20
-- for the IP header and 8 for the UDP header), and at most 65,527 over IPv6
-- (whose length field does not count its own 40-byte header).  A 64 KiB
-- buffer holds any of them whole.
bufferSize :: Int
bufferSize = 65536

main :: IO ()
main = do
  hSetBuffering stdout LineBuffering
  hSetBuffering stderr LineBuffering
  (host, port) <- parseArgs =<< getArgs

  -- ANCHOR: stop
  -- SIGTERM and SIGINT are delivered to a fresh Haskell thread, not to the one
  -- blocked in recvMsg.  The handler logs the signal and throws ExitSuccess at
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

  run host port `catch` \e -> do
    -- Only start-up errors get this far; each datagram's errors are caught
    -- in echoLoop.
    hPutStrLn stderr ("echo_server: " ++ ioe_description e)
    exitWith (ExitFailure 1)

run :: HostName -> PortNumber -> IO ()
run host port = do
  addr <- resolve host port
  bracket (open addr) close $ \sock -> do
    announce sock
    echoLoop sock

-- ANCHOR: bind
-- | getAddrInfo turns a host name or address literal ("localhost", "::1") and a
-- port into socket addresses.  Asking for addrSocketType = Datagram gives the
-- UDP ones; AI_PASSIVE says the address is for receiving on; port 0 asks the
-- kernel to pick any free port.  A server simply takes the first address.
resolve :: HostName -> PortNumber -> IO AddrInfo
resolve host port = do
  let hints = defaultHints {addrFlags = [AI_PASSIVE, AI_NUMERICSERV], addrSocketType = Datagram}
  addrs <- orFail ("resolve " ++ host) $ getAddrInfo (Just hints) (Just host) (Just (show port))
  case addrs of
    addr : _ -> return addr
    [] -> ioError (userError ("resolve " ++ host ++ ": no addresses"))

-- | Create the socket and bind it.  bracketOnError closes the socket if a
-- step fails, so the caller gets a working socket or an exception, never a
-- leaked file descriptor.  Compared with the TCP server, two steps are gone:
-- listen and accept do not exist for datagrams, and neither does
-- SO_REUSEADDR's reason (UDP leaves no connections behind in TIME_WAIT).
open :: AddrInfo -> IO Socket
open addr = do
  name <- showAddr (addrAddress addr)
  orFail ("bind " ++ name) $
    bracketOnError (openSocket addr) close $ \sock -> do
      -- Do not leak the socket into programs we might exec.  (Usually a no-op:
      -- openSocket already asks for SOCK_CLOEXEC where the OS has it.)
      withFdSocket sock setCloseOnExecIfNeeded
      -- bind gives the socket its address and port.  From now on the kernel
      -- queues every datagram sent there for us, from whoever sent it.
      bind sock (addrAddress addr)
      return sock
-- ANCHOR_END: bind

-- | Print the READY line.
announce :: Socket -> IO ()
announce sock = do
  -- ANCHOR: ready
  -- getSocketName (getsockname) asks the kernel which address the socket is
  -- bound to: with port 0 it is the only way to learn which port we got.
  -- A datagram socket is ready as soon as it is bound.
  bound <- getSocketName sock
  text <- showAddr bound
  putStrLn ("READY " ++ text)
  hFlush stdout -- whoever started us is waiting for this line
  -- ANCHOR_END: ready

-- ANCHOR: echo
-- | Receive a datagram, send it back to whoever sent it, forever.
--
-- recvMsg is recvmsg(2): it waits for the next datagram and returns the
-- sender's address, the bytes, any ancillary data (we ask for none: 0 bytes
-- of room for it) and the flags the kernel set.  If a datagram is longer
-- than the buffer, the kernel puts in what fits, throws the rest away -- a
-- datagram is never split across two receives -- and sets MSG_TRUNC.  The
-- simpler recvFrom (recvfrom(2)) would return the same truncated bytes and
-- no way to tell, which is why we use recvMsg.  With a 64 KiB buffer no UDP
-- datagram can be too long; checking costs one line and says what to do if
-- the buffer ever is too small: drop the datagram, never echo a piece of it.
--
-- sendTo is sendto(2): one call sends one datagram to the address we name,
-- here the sender's.  It sends the whole datagram or fails (EMSGSIZE if it
-- is too long); UDP never sends part of one.  Note sendTo, not sendAllTo:
-- sendAllTo, made for streams, sends nothing at all for an empty string, and
-- an empty datagram deserves an empty answer.
--
-- Any problem with one datagram is logged and the loop goes on: nothing a
-- peer sends can stop the server.  (Linux does not report ICMP errors, such
-- as "port unreachable" for a client that has gone, on a socket that is
-- not connected, so a vanished client cannot make recvMsg fail either.)
echoLoop :: Socket -> IO ()
echoLoop sock = forever $ do
  (peer, datagram, _, flags) <- recvMsg sock bufferSize 0 mempty
  name <- showAddr peer
  if flags .&. MSG_TRUNC /= 0
    then logLine (name ++ ": datagram longer than " ++ show bufferSize ++ " bytes, dropped")
    else do
      logLine (show (BS.length datagram) ++ " bytes from " ++ name)
      sent <- try (sendTo sock datagram peer)
      case sent of
        Right _ -> return ()
        Left e -> logLine (name ++ ": send: " ++ ioe_description (e :: IOException))
-- ANCHOR_END: echo

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

logLine :: String -> IO ()
logLine msg = hPutStrLn stderr ("echo_server: " ++ msg)

-- | Run an action; if it fails, fail with a message that says which step went
-- wrong ("bind 127.0.0.1:53: Permission denied").
-- ioe_description is the system's own text for the error (strerror or
-- gai_strerror); `show` would add the Haskell function and socket names.
orFail :: String -> IO a -> IO a
orFail what act = act `catch` \e ->
  throwIO (userError (what ++ ": " ++ ioe_description (e :: IOException)))

-- | The command line: --host H (default 127.0.0.1), --port P (default 0).
parseArgs :: [String] -> IO (HostName, PortNumber)
parseArgs = go ("127.0.0.1", 0)
  where
    go opts [] = return opts
    go _ ("--help" : _) = putStrLn usage >> exitWith ExitSuccess
    go (_, p) ("--host" : h : rest) = go (h, p) rest
    go (h, _) ("--port" : p : rest)
      | Just n <- readPort p = go (h, n) rest
      | otherwise = badUsage ("bad port: " ++ p)
    go _ [flag] | flag `elem` ["--host", "--port"] = badUsage ("missing value for " ++ flag)
    go _ (arg : _) = badUsage ("unknown argument: " ++ arg)
    readPort s
      | not (null s), length s <= 5, all isDigit s, n <= 65535 = Just (fromIntegral n)
      | otherwise = Nothing
      where
        n = read s :: Int
    badUsage msg = do
      hPutStrLn stderr ("echo_server: " ++ msg)
      hPutStrLn stderr usage
      exitWith (ExitFailure 2)
