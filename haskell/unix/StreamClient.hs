-- StreamClient.hs -- a Unix-domain stream echo client: connect to a path or @name, send while receiving
{-# LANGUAGE ScopedTypeVariables #-}

module Main (main) where

import Control.Concurrent (forkIO, myThreadId, newEmptyMVar, putMVar, takeMVar, throwTo)
import Control.Exception
  ( Exception, Handler (..), IOException, bracket, bracketOnError, catch, catches,
    throwIO, uninterruptibleMask_ )
import Control.Monad (unless)
import qualified Data.ByteString as BS
import qualified Data.ByteString.Char8 as BS8
import GHC.Foreign (withCStringLen)
import GHC.IO.Encoding (getFileSystemEncoding)
import GHC.IO.Exception (ioe_description)
import Network.Socket
import Network.Socket.ByteString (recv, sendAll)
import System.Environment (getArgs)
import System.Exit (ExitCode (..), exitWith)
import System.IO

-- The TCP echo client of chapter 2 (../stream/EchoClient.hs) with a
-- different address: a socket file's path, or @name in Linux's abstract
-- namespace.  Connecting to a path needs write permission on the file; a
-- missing file is ENOENT ("No such file or directory"), and a file that no
-- server listens on any more is ECONNREFUSED.

usage :: String
usage = "usage: stream_client --path P"

main :: IO ()
main = do
  hSetBuffering stderr LineBuffering
  -- A path is bytes to the kernel.  getArgs decoded ours with the file-system
  -- encoding; printing in that same encoding writes back exactly the bytes
  -- we were given, whatever the locale.
  hSetEncoding stderr =<< getFileSystemEncoding
  path <- parseArgs =<< getArgs
  -- Bytes, not text: no decoding, no newline translation.  stdout is
  -- unbuffered because we already write in 64 KiB chunks.
  hSetBinaryMode stdin True
  hSetBinaryMode stdout True
  hSetBuffering stdout NoBuffering
  -- Every failure, in either thread, ends here: one line, exit 1.
  run path `catches` [Handler failWith, Handler (\(SenderFailed e) -> failWith e)]
  where
    -- Masked, so that a second failure arriving from the other thread
    -- cannot cut in.
    failWith e = uninterruptibleMask_ $ do
      hPutStrLn stderr ("stream_client: " ++ ioe_description e)
      exitWith (ExitFailure 1)

-- | The sender thread's failure, rethrown in the main thread.  It needs a type
-- of its own: the main thread's orFail catches IOException, and would
-- otherwise mistake the sender's error for its own.
newtype SenderFailed = SenderFailed IOException deriving (Show)

instance Exception SenderFailed

-- | Connect, then copy stdin to the socket in one thread while this thread
-- copies the socket to stdout.  Both must run at once: the server echoes as
-- it reads, and if we wrote everything before reading, both directions'
-- socket buffers would fill and both sides would wait for each other
-- forever.
run :: (String, SockAddr) -> IO ()
run (name, addr) =
  bracket (connectTo name addr) close $ \sock -> do
    mainThread <- myThreadId
    sent <- newEmptyMVar
    _ <- forkIO $
      (sendStdin sock >> putMVar sent ())
        `catch` \e -> throwTo mainThread (SenderFailed e)
    receiveStdout sock
    -- The server has closed its side.  That is success only if it got all of
    -- our input, so wait for the sender to finish; if the server closed
    -- early, the sender's next send fails instead and we exit 1.
    takeMVar sent

-- ANCHOR: connect
-- | socket(AF_UNIX, SOCK_STREAM, 0) and connect to the server's address.
-- There is nothing to resolve: the address is the name itself.  We do not
-- bind: the server sees us as "unnamed", which is fine for a connection,
-- since its replies travel back over the connection, not to an address.
connectTo :: String -> SockAddr -> IO Socket
connectTo name addr =
  orFail ("connect to " ++ name) $
    bracketOnError (socket AF_UNIX Stream defaultProtocol) close $ \sock -> do
      connect sock addr
      return sock
-- ANCHOR_END: connect

-- ANCHOR: send
-- | Copy stdin to the socket, 64 KiB at a time, in a thread of its own (see
-- run) so that receiving goes on meanwhile.  At end of input, shutdown
-- ShutdownSend (shutdown(SHUT_WR)) half-closes the connection, exactly as
-- over TCP: the server reads end-of-file and closes its side once it has
-- echoed everything.
sendStdin :: Socket -> IO ()
sendStdin sock = do
  chunk <- orFail "read stdin" (BS.hGetSome stdin 65536)
  if BS.null chunk
    then orFail "shutdown" (shutdown sock ShutdownSend)
    else do
      orFail "send" (sendAll sock chunk)
      sendStdin sock
-- ANCHOR_END: send

-- ANCHOR: receive
-- | Copy the socket to stdout until the server closes the connection: recv
-- returns up to 64 KiB of whatever has arrived, and an empty string at end of
-- file.  A closed stdout makes the write fail (EPIPE: GHC's runtime ignores
-- SIGPIPE).
receiveStdout :: Socket -> IO ()
receiveStdout sock = do
  chunk <- orFail "receive" (recv sock 65536)
  unless (BS.null chunk) $ do
    orFail "write stdout" (BS.hPut stdout chunk)
    receiveStdout sock
-- ANCHOR_END: receive

-- | Check --path and turn it into an address.  sun_path has 108 bytes and a
-- portable path keeps its terminating NUL, so it may have at most 107 bytes; an
-- abstract name (@name) becomes a NUL byte and then the name's bytes, with
-- the address length counting exactly those, also at most 107 after the @.
-- Bytes, not characters: "é" is two.
--
-- network 3.1.2.7's SockAddrUnix takes a String but stores each Char as one
-- byte (castCharToCChar: 'é' would become the single byte 0xE9, not UTF-8's
-- 0xC3 0xA9), and it does not check the length: a longer path would be
-- written past the end of its buffer.  So we encode the path to bytes
-- ourselves, with the file-system encoding getArgs decoded it with, which
-- gives back exactly the bytes of the command line, check their number, and
-- hand network one Char per byte.  For a name that starts with NUL it then
-- passes the exact length to connect (2 + 1 + the name's length), as other
-- languages' programs do: a padded length would be a different abstract
-- name.
unixPath :: String -> IO (Either String SockAddr)
unixPath given = do
  enc <- getFileSystemEncoding
  bytes <- withCStringLen enc given BS.packCStringLen
  let tooLong b = show (BS.length b) ++ " bytes is more than the 107 that fit in sun_path"
  return $ case BS8.uncons bytes of
    Nothing -> Left "empty --path"
    Just ('@', name)
      | BS.null name -> Left "empty abstract name: --path @"
      | BS.length name > 107 -> Left ("abstract name of " ++ tooLong name)
      | otherwise -> Right (SockAddrUnix ('\0' : BS8.unpack name))
    _
      | BS.length bytes > 107 -> Left ("path of " ++ tooLong bytes)
      | otherwise -> Right (SockAddrUnix (BS8.unpack bytes))

-- | Run an action; if it fails, fail with a message that says which step went
-- wrong ("connect to /tmp/echo.sock: Connection refused").
-- ioe_description is the system's own text for the error (strerror); `show`
-- would add the Haskell function and socket names.
orFail :: String -> IO a -> IO a
orFail what act = act `catch` \e ->
  throwIO (userError (what ++ ": " ++ ioe_description (e :: IOException)))

-- | The command line: --path P (required).  Returns the path as given, for
-- messages, and its address.
parseArgs :: [String] -> IO (String, SockAddr)
parseArgs = go Nothing
  where
    go Nothing [] = badUsage "missing --path"
    go (Just p) [] = either badUsage (\addr -> return (p, addr)) =<< unixPath p
    go _ ("--help" : _) = putStrLn usage >> exitWith ExitSuccess
    go _ ("--path" : p : rest) = go (Just p) rest
    go _ ["--path"] = badUsage "missing value for --path"
    go _ (arg : _) = badUsage ("unknown argument: " ++ arg)
    badUsage msg = do
      hPutStrLn stderr ("stream_client: " ++ msg)
      hPutStrLn stderr usage
      exitWith (ExitFailure 2)
