-- SimpleClient.hs -- the smallest TCP echo client: connect, send all of stdin, half-close, print the reply
module Main (main) where

import Control.Exception (IOException, bracket, catch)
import Control.Monad (unless)
import qualified Data.ByteString as BS
import Data.Char (isDigit)
import GHC.IO.Exception (ioe_description)
import Network.Socket
import Network.Socket.ByteString (recv, sendAll)
import System.Environment (getArgs)
import System.Exit (ExitCode (..), die, exitSuccess, exitWith)
import System.IO (BufferMode (..), hPutStrLn, hSetBuffering, stderr, stdin, stdout)

main :: IO ()
main = do
  (host, port) <- parseArgs ("127.0.0.1", "") =<< getArgs
  -- ANCHOR: connect
  -- getAddrInfo is getaddrinfo(3): it returns a list (or throws), and we
  -- take the first address.  openSocket is socket(2) with that address's
  -- family and type; `bracket` closes it however the rest ends.
  let hints = defaultHints {addrFlags = [AI_NUMERICSERV], addrSocketType = Stream}
  addr : _ <- orFail "getaddrinfo" (getAddrInfo (Just hints) (Just host) (Just port))
  bracket (orFail "socket" (openSocket addr)) close $ \sock -> do
    orFail "connect" (connect sock (addrAddress addr))
    -- ANCHOR_END: connect
    -- ANCHOR: send
    -- All of stdin first, 64 KiB at a time (hGetSome returns what there
    -- is, empty at end of input; sendAll loops until the kernel has taken
    -- every byte), then shutdown ShutdownSend, shutdown(SHUT_WR): the
    -- half-close that tells the server we are done.
    copy (orFail "read" (BS.hGetSome stdin 65536)) (orFail "send" . sendAll sock)
    orFail "shutdown" (shutdown sock ShutdownSend)
    -- ANCHOR_END: send
    -- ANCHOR: receive
    -- Then the reply, until recv returns an empty string: the server has
    -- closed its side.  stdout unbuffered: each chunk is written (or fails) here.
    hSetBuffering stdout NoBuffering
    copy (orFail "recv" (recv sock 65536)) (orFail "write" . BS.putStr)
  where
    copy get put = do
      chunk <- get
      unless (BS.null chunk) (put chunk >> copy get put)
-- ANCHOR_END: receive

-- | Run a call; if it fails, print "simple_client: <call>: <reason>" and
-- exit 1.  ioe_description is the system's text (strerror, gai_strerror).
orFail :: String -> IO a -> IO a
orFail call act = act `catch` \e ->
  die ("simple_client: " ++ call ++ ": " ++ ioe_description (e :: IOException))

-- | --host H and --port P (1 to 65535, required); anything else is a usage error.
parseArgs :: (HostName, ServiceName) -> [String] -> IO (HostName, ServiceName)
parseArgs opts@(_, p) [] | not (null p) = return opts
parseArgs _ ("--help" : _) = putStrLn usage >> exitSuccess
parseArgs (_, p) ("--host" : h : rest) = parseArgs (h, p) rest
parseArgs (h, _) ("--port" : p : rest)
  | not (null p), length p <= 5, all isDigit p, let n = read p :: Int, n >= 1, n <= 65535 =
      parseArgs (h, p) rest
parseArgs _ _ = hPutStrLn stderr usage >> exitWith (ExitFailure 2)

usage :: String
usage = "usage: simple_client [--host H] --port P"
