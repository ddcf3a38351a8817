-- SimpleServer.hs -- the smallest TCP echo server: one address, one client at a time, blocking calls
module Main (main) where

import Control.Exception (IOException, bracket, catch)
import Control.Monad (forever, unless)
import qualified Data.ByteString as BS
import Data.Char (isDigit)
import GHC.IO.Exception (ioe_description)
import Network.Socket
import Network.Socket.ByteString (recv, sendAll)
import System.Environment (getArgs)
import System.Exit (ExitCode (..), die, exitSuccess, exitWith)
import System.IO (hFlush, hPutStrLn, stderr, stdout)

main :: IO ()
main = do
  (host, port) <- parseArgs ("127.0.0.1", "0") =<< getArgs
  -- ANCHOR: listen
  -- getAddrInfo is getaddrinfo(3); AI_PASSIVE asks for addresses to listen
  -- on.  It returns a list (or throws): we take the first.  openSocket is
  -- socket(2) with that address's family and type; `bracket` closes it
  -- however the rest ends.
  let hints = defaultHints {addrFlags = [AI_PASSIVE, AI_NUMERICSERV], addrSocketType = Stream}
  addr : _ <- orFail "getaddrinfo" (getAddrInfo (Just hints) (Just host) (Just port))
  bracket (orFail "socket" (openSocket addr)) close $ \sock -> do
    orFail "bind" (bind sock (addrAddress addr))
    orFail "listen" (listen sock 10)
    -- ANCHOR_END: listen
    -- ANCHOR: ready
    -- getSocketName is getsockname(2): with port 0, the only way to learn
    -- the port.  network's `show` of an address is 127.0.0.1:40123 or
    -- [::1]:40123, the form READY wants.
    bound <- getSocketName sock
    putStrLn ("READY " ++ show bound)
    hFlush stdout
    -- ANCHOR_END: ready
    -- ANCHOR: serve
    -- accept waits for a client and returns its socket (and address); the
    -- second `bracket` closes it when the echo is done.  recv returns up to
    -- 64 KiB, or an empty string at end of file; sendAll loops until the
    -- kernel has taken every byte.
    forever $ bracket (orFail "accept" (accept sock)) (close . fst) (echo . fst)
  where
    echo conn = do
      chunk <- orFail "recv" (recv conn 65536)
      unless (BS.null chunk) $ orFail "send" (sendAll conn chunk) >> echo conn
-- ANCHOR_END: serve

-- | Run a call; if it fails, print "simple_server: <call>: <reason>" and
-- exit 1.  ioe_description is the system's text (strerror, gai_strerror).
orFail :: String -> IO a -> IO a
orFail call act = act `catch` \e ->
  die ("simple_server: " ++ call ++ ": " ++ ioe_description (e :: IOException))

-- | --host H and --port P (0 to 65535); anything else is a usage error.
parseArgs :: (HostName, ServiceName) -> [String] -> IO (HostName, ServiceName)
parseArgs opts [] = return opts
parseArgs _ ("--help" : _) = putStrLn usage >> exitSuccess
parseArgs (_, p) ("--host" : h : rest) = parseArgs (h, p) rest
parseArgs (h, _) ("--port" : p : rest)
  | not (null p), length p <= 5, all isDigit p, let n = read p :: Int, n >= 0, n <= 65535 =
      parseArgs (h, p) rest
parseArgs _ _ = hPutStrLn stderr usage >> exitWith (ExitFailure 2)

usage :: String
usage = "usage: simple_server [--host H] [--port P]"
