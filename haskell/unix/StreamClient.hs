-- StreamClient.hs -- a Unix-domain stream echo client: connect to a path or @name, send while receiving
{-# LANGUAGE ScopedTypeVariables #-}

module Main (main) where

import Control.Concurrent (forkIO, myThreadId, newEmptyMVar, putMVar, takeMVar, throwTo)
import Control.Exception
  ( Exception, Handler (..), IOException, bracket, bracketOnError, catch, catches,
    throwIO, try, uninterruptibleMask_ )
import Control.Monad (unless)
import qualified Data.ByteString as BS
import qualified Data.ByteString.Char8 as BS8
import Data.List (isPrefixOf)
import GHC.Foreign (withCStringLen)
import GHC.IO.Encoding (getFileSystemEncoding)
import GHC.IO.Exception (ioe_description)
import Network.Socket
import Network.Socket.ByteString (recv, sendAll)
import System.Environment (getArgs)
import System.Exit (ExitCode (..), exitWith)
import System.IO
import System.Posix.Files (readSymbolicLink)

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
  checkStdout
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
      (sendStdin sock name >> putMVar sent ())
        `catch` \e -> throwTo mainThread (SenderFailed e)
    receiveStdout sock name
    -- The server has closed its side.  That is success only if it got all of
    -- our input, so wait for the sender to finish; if the server closed
    -- early, the sender's next send fails instead and we exit 1.
    takeMVar sent

-- ANCHOR: connect
-- | socket(AF_UNIX, SOCK_STREAM, 0) and connect.  Nothing to resolve: the
-- address is the name itself.  bracketOnError closes the socket if connect
-- throws.
connectTo :: String -> SockAddr -> IO Socket
connectTo name addr =
  orFail ("connect to " ++ name) $
    bracketOnError (socket AF_UNIX Stream defaultProtocol) close $ \sock -> do
      connect sock addr
      return sock
-- ANCHOR_END: connect

-- ANCHOR: send
-- | Copy stdin to the socket, 64 KiB at a time, in a thread of its own (see
-- run) so that receiving goes on meanwhile; at end of input, half-close
-- with shutdown ShutdownSend (shutdown(SHUT_WR)), exactly as over TCP.
sendStdin :: Socket -> String -> IO ()
sendStdin sock name = do
  chunk <- orFail "read stdin" (BS.hGetSome stdin 65536)
  if BS.null chunk
    then orFail ("shutdown " ++ name) (shutdown sock ShutdownSend)
    else do
      orFail ("send to " ++ name) (sendAll sock chunk)
      sendStdin sock name
-- ANCHOR_END: send

-- ANCHOR: receive
-- | Copy the socket to stdout until the server closes the connection: recv
-- returns up to 64 KiB of whatever has arrived, and an empty ByteString at
-- end of file.  A write to a closed pipe fails with EPIPE (GHC's runtime
-- ignores SIGPIPE).
receiveStdout :: Socket -> String -> IO ()
receiveStdout sock name = do
  chunk <- orFail ("receive from " ++ name) (recv sock 65536)
  unless (BS.null chunk) $ do
    orFail "write stdout" (BS.hPut stdout chunk)
    receiveStdout sock name
-- ANCHOR_END: receive

-- | Check --path (CONTRACT.md 3.1) and turn it into an address.  sun_path
-- holds 108 bytes and a path needs its terminating NUL, so at most 107; an
-- abstract name (@name) becomes a NUL and the name's bytes, also at most 107.
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
  let abstract = BS8.take 1 bytes == BS8.pack "@"
      name = if abstract then BS.drop 1 bytes else bytes
      check
        | BS.null bytes = Left "--path is empty"
        | BS.null name = Left "--path needs a name after the @"
        | BS.length name > 107 =
            Left ("--path is " ++ show (BS.length name) ++ " bytes; a socket address holds at most 107")
        | otherwise = Right (SockAddrUnix ((if abstract then ('\0' :) else id) (BS8.unpack name)))
  return check

-- | Started with stdout closed (`stream_client >&-`)?  Then say so before
-- any socket exists: the socket would get descriptor 1, and what we "print"
-- would go into it.  C asks fcntl(1, F_GETFD); in Haskell that is too late,
-- because GHC's runtime opens descriptors of its own before main runs (its
-- I/O manager's epoll instance, its timer), and the first of them takes the
-- lowest free number, 1.  So we ask the kernel what descriptor 1 is:
-- nothing, or one of those anonymous inodes ("anon_inode:[eventpoll]"),
-- which no shell passes as a program's stdout.
checkStdout :: IO ()
checkStdout = do
  target <- try (readSymbolicLink "/proc/self/fd/1") :: IO (Either IOException FilePath)
  case target of
    Right name | not ("anon_inode:" `isPrefixOf` name) -> return ()
    _ -> do
      hPutStrLn stderr "stream_client: stdout: Bad file descriptor"
      exitWith (ExitFailure 1)

-- | Run an action; if it fails, fail with a message that says which step went
-- wrong ("connect to /tmp/echo.sock: Connection refused").
-- ioe_description is the system's own text for the error (strerror); `show`
-- would add the Haskell function and socket names.
orFail :: String -> IO a -> IO a
orFail what act = act `catch` \e ->
  throwIO (userError (what ++ ": " ++ ioe_description (e :: IOException)))

-- | The command line, left to right; the first problem is the one reported.
-- --path P (required).  Returns the path as given, for messages, and its
-- address.
parseArgs :: [String] -> IO (String, SockAddr)
parseArgs = go Nothing
  where
    go Nothing [] = badUsage "--path is required"
    go (Just path) [] = return path
    go _ ("--help" : _) = putStrLn usage >> exitWith ExitSuccess
    go _ ["--path"] = badUsage "--path needs a value"
    go _ ("--path" : p : rest) = unixPath p >>= either badUsage (\addr -> go (Just (p, addr)) rest)
    go _ (arg : _) = badUsage (unexpected arg)
    unexpected arg@('-' : _) = "unknown option: " ++ arg
    unexpected arg = "unexpected argument: " ++ arg
    badUsage msg = do
      hPutStrLn stderr ("stream_client: " ++ msg)
      hPutStrLn stderr usage
      exitWith (ExitFailure 2)
