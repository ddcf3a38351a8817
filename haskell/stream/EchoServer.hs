-- EchoServer.hs -- a TCP echo server: socket, bind, listen, and an accept loop, one client at a time
{-# LANGUAGE ScopedTypeVariables #-}

module Main (main) where

import Control.Concurrent (myThreadId, throwTo)
import Control.Exception (IOException, bracket, bracketOnError, catch, throwIO, try)
import Control.Monad (forever)
import qualified Data.ByteString as BS
import Data.Char (isDigit)
import Data.List (intercalate)
import Data.Maybe (fromMaybe)
import GHC.IO.Exception (ioe_description)
import Network.Socket
import Network.Socket.ByteString (recv, sendAll)
import System.Environment (getArgs)
import System.Exit (ExitCode (..), exitWith)
import System.IO
import System.Posix.Signals (Handler (..), installHandler, sigINT, sigTERM)

usage :: String
usage = "usage: echo_server [--host H] [--port P]"

main :: IO ()
main = do
  hSetBuffering stdout LineBuffering
  hSetBuffering stderr LineBuffering
  (host, port) <- parseArgs =<< getArgs

  -- ANCHOR: stop
  -- SIGTERM and SIGINT are delivered to a fresh Haskell thread, not to the one
  -- blocked in accept or recv.  The handler logs the signal and throws
  -- ExitSuccess at the main thread: that interrupts the blocking call, the
  -- `bracket`s that opened the client and the listening socket close them on
  -- the way out, and main ends with exit status 0.  (SIGPIPE needs nothing:
  -- GHC's runtime ignores it, so a write to a vanished client fails with EPIPE
  -- instead of killing us.)
  mainThread <- myThreadId
  let stop name = Catch $ do
        logLine ("stopping on " ++ name)
        throwTo mainThread ExitSuccess
  _ <- installHandler sigTERM (stop "SIGTERM") Nothing
  _ <- installHandler sigINT (stop "SIGINT") Nothing
  -- ANCHOR_END: stop

  run host port `catch` \e -> do
    -- Only start-up errors get this far; each client's errors are caught in
    -- acceptLoop.
    hPutStrLn stderr ("echo_server: " ++ ioe_description e)
    exitWith (ExitFailure 1)

run :: HostName -> PortNumber -> IO ()
run host port =
  bracket (listenOn host port) close $ \sock -> do
    announce sock
    acceptLoop sock

-- ANCHOR: listen
-- | getAddrInfo is getaddrinfo(3); port 0 asks the kernel for any free port.
-- We try each address in turn and keep the first we can listen on; if none
-- works, the last one's error is the one reported.
listenOn :: HostName -> PortNumber -> IO Socket
listenOn host port = do
  let hints = defaultHints {addrFlags = [AI_NUMERICSERV], addrSocketType = Stream}
  addrs <- orFail ("resolve " ++ host) $ getAddrInfo (Just hints) (Just host) (Just (show port))
  tryEach addrs
  where
    tryEach [addr] = open addr
    tryEach (addr : rest) = open addr `catch` \(_ :: IOException) -> tryEach rest
    tryEach [] = ioError (userError ("resolve " ++ host ++ ": no addresses"))

-- | Adapted from the EchoServer example in the documentation of the network
-- package (Network.Socket).  openSocket is socket(2) with the AddrInfo's
-- family, type and protocol; bracketOnError closes it if a later step
-- throws, so we return a listening socket or an exception, never a leaked
-- descriptor.  setSocketOption ... ReuseAddr is SO_REUSEADDR.
open :: AddrInfo -> IO Socket
open addr = do
  name <- showAddr (addrAddress addr)
  bracketOnError (orFail ("socket for " ++ name) (openSocket addr)) close $ \sock -> do
    orFail ("setsockopt SO_REUSEADDR on " ++ name) (setSocketOption sock ReuseAddr 1)
    orFail ("bind " ++ name) (bind sock (addrAddress addr))
    orFail ("listen on " ++ name) (listen sock 128)
    return sock
-- ANCHOR_END: listen

-- | Print the READY line.
announce :: Socket -> IO ()
announce sock = do
  -- ANCHOR: ready
  -- getSocketName (getsockname) asks the kernel which address the socket is
  -- bound to: with port 0 it is the only way to learn which port we got.
  bound <- getSocketName sock
  text <- showAddr bound
  putStrLn ("READY " ++ text)
  hFlush stdout -- whoever started us is waiting for this line
  -- ANCHOR_END: ready

-- ANCHOR: accept
-- | accept returns the connection's socket and the client's address.  `try`
-- turns a failed accept into a Left, which is logged; the loop goes on.
-- `bracket` closes the connection (mapM_ closes a Right's socket; a Left has
-- none) whether echo returns or throws, and the inner `try` catches a
-- failure with this client (a reset, a client that vanished).  `try` catches
-- IOException only: a signal's ExitSuccess goes through.
acceptLoop :: Socket -> IO ()
acceptLoop sock = forever $
  bracket (try (accept sock)) (mapM_ (close . fst)) $ \accepted -> case accepted of
    Left (e :: IOException) -> logLine ("accept: " ++ ioe_description e)
    Right (conn, peer) -> do
      name <- showAddr peer
      logLine ("connection from " ++ name)
      result <- try (echo conn 0)
      logLine $ case result of
        Right echoed -> name ++ ": closed, " ++ show echoed ++ " bytes echoed"
        Left e -> name ++ ": " ++ ioe_description e
-- ANCHOR_END: accept

-- ANCHOR: echo
-- | Send back every byte until the client half-closes, and return how many
-- that was (counting from `echoed`).  recv returns at most 64 KiB, and an
-- empty ByteString at end of file; sendAll loops until the kernel has
-- taken the whole chunk.
--
-- When echo returns we have read the client's FIN, so a plain close is
-- clean.  (The network package's gracefulClose, which half-closes and then
-- waits for the peer's FIN, is for when you do not know that.)
echo :: Socket -> Int -> IO Int
echo conn echoed = do
  chunk <- recv conn 65536
  if BS.null chunk
    then return echoed
    else do
      sendAll conn chunk
      -- $! adds now; a lazy sum would pile up one unevaluated (+) per chunk.
      echo conn $! echoed + BS.length chunk
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
-- wrong ("bind 127.0.0.1:80: Permission denied").
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
