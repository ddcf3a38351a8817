-- EchoServer.hs -- a UDP echo server: one socket, recvfrom and sendto, every datagram answered on its own
{-# LANGUAGE ScopedTypeVariables #-}

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
run host port =
  bracket (bindTo host port) close $ \sock -> do
    announce sock
    echoLoop sock

-- ANCHOR: bind
-- | getAddrInfo with addrSocketType = Datagram gives the UDP addresses; port
-- 0 asks the kernel for any free port.  We try each address in turn and keep
-- the first we can bind; if none works, the last one's error is reported.
bindTo :: HostName -> PortNumber -> IO Socket
bindTo host port = do
  let hints = defaultHints {addrFlags = [AI_NUMERICSERV], addrSocketType = Datagram}
  addrs <- orFail ("resolve " ++ host) $ getAddrInfo (Just hints) (Just host) (Just (show port))
  tryEach addrs
  where
    tryEach [addr] = open addr
    tryEach (addr : rest) = open addr `catch` \(_ :: IOException) -> tryEach rest
    tryEach [] = ioError (userError ("resolve " ++ host ++ ": no addresses"))

-- | openSocket and bind; no listen, no SO_REUSEADDR.  bracketOnError closes
-- the socket if bind throws, so we return a bound socket or an exception.
open :: AddrInfo -> IO Socket
open addr = do
  name <- showAddr (addrAddress addr)
  bracketOnError (orFail ("socket for " ++ name) (openSocket addr)) close $ \sock -> do
    orFail ("bind " ++ name) (bind sock (addrAddress addr))
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
-- recvMsg is recvmsg(2): the sender's address, the bytes, the ancillary data
-- (we give it no room: 0) and the flags, where MSG_TRUNC says the datagram
-- did not fit; the simpler recvFrom could not tell us.  sendTo is sendto(2),
-- one datagram; not sendAllTo, which sends nothing at all for an empty
-- ByteString.  `try` turns a failed call into a Left, which is logged: the
-- loop goes on.
echoLoop :: Socket -> IO ()
echoLoop sock = forever $ do
  received <- try (recvMsg sock bufferSize 0 mempty)
  case received of
    Left e -> logLine ("recvmsg: " ++ ioe_description e)
    Right (peer, datagram, _, flags) -> do
      name <- showAddr peer
      if flags .&. MSG_TRUNC /= 0
        then logLine (name ++ ": datagram longer than " ++ show bufferSize ++ " bytes, dropped")
        else do
          logLine (show (BS.length datagram) ++ " bytes from " ++ name)
          sent <- try (sendTo sock datagram peer)
          case sent of
            Right _ -> return ()
            Left e -> logLine (name ++ ": " ++ ioe_description e)
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

-- | The command line, left to right; the first problem is the one reported.
-- --host H (default 127.0.0.1), --port P (default 0).
parseArgs :: [String] -> IO (HostName, PortNumber)
parseArgs = go ("127.0.0.1", 0)
  where
    go opts [] = return opts
    go _ ("--help" : _) = putStrLn usage >> exitWith ExitSuccess
    go _ [flag] | flag `elem` ["--host", "--port"] = badUsage (flag ++ " needs a value")
    go (_, p) ("--host" : h : rest) = go (h, p) rest
    go (h, _) ("--port" : p : rest) = case readPort p of
      Just n -> go (h, n) rest
      Nothing -> badUsage ("bad port: " ++ p)
    go _ (arg : _) = badUsage (unexpected arg)
    unexpected arg@('-' : _) = "unknown option: " ++ arg
    unexpected arg = "unexpected argument: " ++ arg
    -- 1 to 5 decimal digits, no sign, 0 to 65535 (0: any free port).
    readPort s
      | not (null s), length s <= 5, all isDigit s, n <= 65535 = Just (fromIntegral n)
      | otherwise = Nothing
      where
        n = read s :: Int
    badUsage msg = do
      hPutStrLn stderr ("echo_server: " ++ msg)
      hPutStrLn stderr usage
      exitWith (ExitFailure 2)
