-- Common.hs -- what every chapter 6 Haskell server shares: flags, the descriptor limit, the listening socket, READY, logs
{-# LANGUAGE ScopedTypeVariables #-}

-- This is a module, not a program: haskell/Makefile leaves it out of the
-- programs and puts haskell/concurrency/ on every program's module path.
-- It holds what stream/EchoServer.hs does before its first accept, and its
-- wording, so that each server in this folder shows only its own design.
module Common
  ( Log,
    withListener,
    parseArgs,
    newLog,
    showAddr,
  )
where

import Control.Concurrent.MVar (newMVar, withMVar)
import Control.Exception (IOException, bracket, bracketOnError, catch, throwIO)
import Data.Char (isDigit)
import Data.List (intercalate)
import Data.Maybe (fromMaybe)
import GHC.IO.Exception (ioe_description)
import Network.Socket
import System.Exit (ExitCode (..), exitWith)
import System.IO
import System.Posix.Resource (Resource (..), ResourceLimits (..), getResourceLimit, setResourceLimit)

-- | A function that logs one line, "<prog>: <message>".
type Log = String -> IO ()

-- ANCHOR: log
-- | A Log for this program.  Many threads log at once, so each line is
-- written under a lock (an MVar holding nothing, taken by withMVar and
-- given back however the write ends), and stderr is line-buffered: one
-- line, one write(2).
newLog :: String -> IO Log
newLog prog = do
  hSetBuffering stderr LineBuffering
  lock <- newMVar ()
  return $ \msg -> withMVar lock $ \() -> hPutStr stderr (prog ++ ": " ++ msg ++ "\n")
-- ANCHOR_END: log

-- | Open the listening socket (after raising the descriptor limit), print
-- READY, run `serve` with it, and close it however `serve` ends.  A failure
-- to start is one line and exit 1; `serve` itself must catch each client's
-- errors (an IOException that gets out of it ends the server the same way).
withListener :: String -> HostName -> PortNumber -> (Socket -> IO a) -> IO a
withListener prog host port serve =
  bracket (raiseFileLimit >> listenOn host port) close (\sock -> announce sock >> serve sock)
    `catch` \(e :: IOException) -> do
      hPutStrLn stderr (prog ++ ": " ++ ioe_description e)
      exitWith (ExitFailure 1)

-- ANCHOR: limit
-- | Every client costs a descriptor, and the soft limit on them is often
-- 1024.  System.Posix.Resource is getrlimit(2) and setrlimit(2): we raise
-- the soft limit (what the kernel enforces) to the hard limit (the most an
-- unprivileged process may ask for).
raiseFileLimit :: IO ()
raiseFileLimit = orFail "setrlimit RLIMIT_NOFILE" $ do
  limits <- getResourceLimit ResourceOpenFiles
  setResourceLimit ResourceOpenFiles limits {softLimit = hardLimit limits}
-- ANCHOR_END: limit

-- ANCHOR: listen
-- | As stream/EchoServer.hs: getAddrInfo, then each address in turn until
-- one can be listened on (the last one's error is the one reported).
-- SO_REUSEADDR, and a backlog of 1024: many clients may connect at once,
-- and the kernel queues at most that many until we accept them.
listenOn :: HostName -> PortNumber -> IO Socket
listenOn host port = do
  let hints = defaultHints {addrFlags = [AI_NUMERICSERV], addrSocketType = Stream}
  addrs <- orFail ("resolve " ++ host) $ getAddrInfo (Just hints) (Just host) (Just (show port))
  tryEach addrs
  where
    tryEach [addr] = open addr
    tryEach (addr : rest) = open addr `catch` \(_ :: IOException) -> tryEach rest
    tryEach [] = ioError (userError ("resolve " ++ host ++ ": no addresses"))
    open addr = do
      name <- showAddr (addrAddress addr)
      bracketOnError (orFail ("socket for " ++ name) (openSocket addr)) close $ \sock -> do
        orFail ("setsockopt SO_REUSEADDR on " ++ name) (setSocketOption sock ReuseAddr 1)
        orFail ("bind " ++ name) (bind sock (addrAddress addr))
        orFail ("listen on " ++ name) (listen sock 1024)
        return sock
-- ANCHOR_END: listen

-- | Print the READY line, from getSocketName (getsockname), and flush it.
announce :: Socket -> IO ()
announce sock = do
  text <- showAddr =<< getSocketName sock
  putStrLn ("READY " ++ text)
  hFlush stdout

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

-- | Run an action; if it fails, fail with a message that says which step went
-- wrong ("bind 127.0.0.1:80: Permission denied").  ioe_description is the
-- system's own text for the error (strerror or gai_strerror).
orFail :: String -> IO a -> IO a
orFail what act = act `catch` \e ->
  throwIO (userError (what ++ ": " ++ ioe_description (e :: IOException)))

-- | The command line of `prog`, left to right, in section 3.1's words; the
-- first problem is the one reported.  --host H (default 127.0.0.1), --port P
-- (default 0: any free port).
parseArgs :: String -> [String] -> IO (HostName, PortNumber)
parseArgs prog = go ("127.0.0.1", 0)
  where
    usage = "usage: " ++ prog ++ " [--host H] [--port P]"
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
    -- 1 to 5 decimal digits, no sign, 0 to 65535.
    readPort s
      | not (null s), length s <= 5, all isDigit s, n <= 65535 = Just (fromIntegral n)
      | otherwise = Nothing
      where
        n = read s :: Int
    badUsage msg = do
      hPutStrLn stderr (prog ++ ": " ++ msg)
      hPutStrLn stderr usage
      exitWith (ExitFailure 2)
