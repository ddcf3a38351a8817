-- DgramClient.hs -- a Unix-domain datagram echo client: bind an address of its own, and remove it after
{-# LANGUAGE ScopedTypeVariables #-}

module Main (main) where

import Control.Exception (IOException, bracket, bracketOnError, catch, try)
import Control.Monad (unless, when)
import qualified Data.ByteString as BS
import qualified Data.ByteString.Char8 as BS8
import Data.Char (isDigit)
import Data.List (isPrefixOf)
import Data.Ratio ((%))
import GHC.Foreign (withCStringLen)
import GHC.IO.Encoding (getFileSystemEncoding)
import GHC.IO.Exception (ioe_description)
import Network.Socket hiding (bind)
import Network.Socket.Address (bind)
import Network.Socket.ByteString (recv, send)
import System.Environment (getArgs, lookupEnv)
import System.Exit (ExitCode (..), exitWith)
import System.IO
import System.IO.Error (isDoesNotExistError)
import System.Posix.Files (readSymbolicLink, removeLink)
import System.Posix.Process (getProcessID)
import System.Timeout (timeout)

-- Unlike UDP, a Unix-domain datagram is never lost: the kernel puts it
-- straight into the receiver's queue, or tells the sender why it cannot.
-- So there is no --retries: if no reply comes within --timeout, sending
-- again would not help.  What a Unix-domain client does need is an address:
-- a socket that never called bind is "unnamed", and the server would have
-- nowhere to send its reply.

usage :: String
usage = "usage: dgram_client --path P [--timeout S]"

-- | The largest datagram this example sends: the server's receive buffer.
maxDatagram :: Int
maxDatagram = 65536

main :: IO ()
main = do
  hSetBuffering stderr LineBuffering
  -- A path is bytes to the kernel.  getArgs decoded ours with the file-system
  -- encoding; printing in that same encoding writes back exactly the bytes
  -- we were given, whatever the locale.
  hSetEncoding stderr =<< getFileSystemEncoding
  (path, server, (wait, waitText)) <- parseArgs =<< getArgs
  checkStdout
  -- Bytes, not text: no decoding, no newline translation.
  hSetBinaryMode stdin True
  hSetBinaryMode stdout True
  -- The whole of stdin is one datagram, so read it all first, and refuse
  -- what this example will not send before creating anything.
  payload <- BS.getContents `catch` failWith "read stdin"
  let size = BS.length payload
  when (size > maxDatagram) $ do
    hPutStrLn stderr $
      "dgram_client: " ++ show size ++ " bytes is more than the "
        ++ show maxDatagram
        ++ " this example sends"
    exitWith (ExitFailure 2)
  own <- ownPath
  -- From here on every way out -- success, a failure's exitWith, any
  -- exception -- passes through `cleanup`, which removes our file.
  bracket (bindOwn own) (cleanup own) $ \sock -> do
    connectTo sock path server
    sendDatagram sock path payload
    reply <- receive sock path wait
    case reply of
      Just datagram ->
        -- hFlush now, so that a failed write (a closed stdout) is reported
        -- here and not lost in the flush at exit.
        (BS.hPut stdout datagram >> hFlush stdout) `catch` failWith "write stdout"
      Nothing -> die ("no reply from " ++ path ++ " within " ++ waitText ++ " s")

-- ANCHOR: bind
-- | Our own address: $TMPDIR/dgram_client.<pid>.sock, or under /tmp when
-- TMPDIR is unset or empty.
ownPath :: IO FilePath
ownPath = do
  tmpdir <- lookupEnv "TMPDIR"
  pid <- getProcessID
  let dir = case tmpdir of
        Just d | not (null d) -> d
        _ -> "/tmp"
  return (dir ++ "/dgram_client." ++ show pid ++ ".sock")

-- | socket(AF_UNIX, SOCK_DGRAM, 0), bound to our own path.  A file already
-- there is an earlier client's with our pid, killed before it could clean
-- up: removeLink (unlink(2)) it first.  The bind is Network.Socket.Address's,
-- bind(2) alone (Network.Socket's, in network 3.1.2.7, would itself remove a
-- file in the way if connecting to it is refused, whatever the file is).
bindOwn :: FilePath -> IO Socket
bindOwn own = do
  fits <- pathBytes own
  addr <- maybe (die ("bind " ++ own ++ ": longer than 107 bytes")) (return . SockAddrUnix) fits
  bracketOnError (socket AF_UNIX Datagram defaultProtocol) close $ \sock -> do
    removeLink own `catch` \e ->
      unless (isDoesNotExistError e) $ failWith ("unlink " ++ own) e
    bind sock addr `catch` failWith ("bind " ++ own)
    return sock
-- ANCHOR_END: bind

-- ANCHOR: connect
-- | connect sets the default destination, as for UDP, but fails at once if
-- nobody is there: ENOENT for a missing file, ECONNREFUSED for a stale one.
connectTo :: Socket -> String -> SockAddr -> IO ()
connectTo sock path server = connect sock server `catch` failWith ("connect to " ++ path)
-- ANCHOR_END: connect

-- ANCHOR: send
-- | send one datagram; not sendAll, which sends nothing at all for an empty
-- ByteString.  If the server's queue is full, send waits until there is room.
sendDatagram :: Socket -> String -> BS.ByteString -> IO ()
sendDatagram sock path payload = do
  _ <- send sock payload `catch` failWith ("send to " ++ path)
  return ()
-- ANCHOR_END: send

-- ANCHOR: receive
-- | Wait up to `wait` microseconds for the reply, one whole datagram:
-- System.Timeout.timeout runs recv and, if the time runs out first,
-- interrupts it and returns Nothing.
receive :: Socket -> String -> Int -> IO (Maybe BS.ByteString)
receive sock path wait =
  timeout wait (recv sock maxDatagram) `catch` failWith ("receive from " ++ path)
-- ANCHOR_END: receive

-- ANCHOR: cleanup
-- | Close the socket and remove the file bind created.  `bracket` calls this
-- on every exit after bindOwn succeeded, including die's exitWith, which is
-- an exception too.
cleanup :: FilePath -> Socket -> IO ()
cleanup own sock = do
  close sock
  removeLink own `catch` \(_ :: IOException) -> return ()
-- ANCHOR_END: cleanup

-- | A path's bytes, one Char per byte, as network's SockAddrUnix wants
-- them, if they fit: sun_path holds 108 bytes and a path needs its
-- terminating NUL, so at most 107.  Bytes, not characters: "é" is two.
--
-- network 3.1.2.7's SockAddrUnix takes a String but stores each Char as one
-- byte (castCharToCChar: 'é' would become the single byte 0xE9, not UTF-8's
-- 0xC3 0xA9), and it does not check the length: a longer path would be
-- written past the end of its buffer.  So we encode the path to bytes
-- ourselves, with the file-system encoding getArgs decoded it with, which
-- gives back exactly the bytes of the command line, and check their number.
pathBytes :: String -> IO (Maybe String)
pathBytes path = do
  enc <- getFileSystemEncoding
  bytes <- withCStringLen enc path BS.packCStringLen
  return (if BS.length bytes > 107 then Nothing else Just (BS8.unpack bytes))

-- | Check --path (CONTRACT.md 3.1) and turn it into an address: a file's
-- path, or @name, an address in Linux's abstract namespace: a NUL byte and
-- then the name's bytes, with the address length counting exactly those
-- (network passes 2 + 1 + the name's length for a String that starts with
-- NUL; a padded length would be a different name).
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

-- | Started with stdout closed (`dgram_client >&-`)?  Then say so before any
-- socket exists: the socket would get descriptor 1, and what we "print"
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
    _ -> die "stdout: Bad file descriptor"

-- | A failed step: one line that says which step and why ("connect to
-- /tmp/echo.sock: Connection refused"), and exit 1.  ioe_description is the
-- system's own text for the error (strerror); `show` would add the Haskell
-- function and socket names.
failWith :: String -> IOException -> IO a
failWith what e = die (what ++ ": " ++ ioe_description e)

-- | One line, exit 1.  exitWith throws ExitFailure, so the `bracket` in main
-- still removes our file on the way out.
die :: String -> IO a
die msg = do
  hPutStrLn stderr ("dgram_client: " ++ msg)
  exitWith (ExitFailure 1)

-- | The command line, left to right; the first problem is the one reported.
-- --path P (required), --timeout S (default 1 second).  Returns the path as
-- given, its address, and the timeout in microseconds and as given (for the
-- message).
parseArgs :: [String] -> IO (String, SockAddr, (Int, String))
parseArgs = go Nothing (1000000, "1")
  where
    go Nothing _ [] = badUsage "--path is required"
    go (Just (p, addr)) wait [] = return (p, addr, wait)
    go _ _ ("--help" : _) = putStrLn usage >> exitWith ExitSuccess
    go _ _ [flag] | flag `elem` ["--path", "--timeout"] = badUsage (flag ++ " needs a value")
    go _ wait ("--path" : p : rest) = unixPath p >>= either badUsage (\addr -> go (Just (p, addr)) wait rest)
    go path _ ("--timeout" : s : rest) = case readSeconds s of
      Just us -> go path (us, s) rest
      Nothing -> badUsage ("bad timeout: " ++ s)
    go _ _ (arg : _) = badUsage (unexpected arg)
    unexpected arg@('-' : _) = "unknown option: " ++ arg
    unexpected arg = "unexpected argument: " ++ arg

-- | Seconds: digits, optionally a "." and more digits ("1", "0.2"; not ".5",
-- "5." or "1e3"), more than 0.  Turned into whole microseconds, rounded up
-- (0.0000001 is 1 us, not "no wait at all"), at most what an Int holds.
readSeconds :: String -> Maybe Int
readSeconds s = case span isDigit s of
  (whole@(_ : _), "") -> micro whole ""
  (whole@(_ : _), '.' : frac@(_ : _)) | all isDigit frac -> micro whole frac
  _ -> Nothing
  where
    micro whole frac
      | us > 0 = Just (fromInteger (min us (toInteger (maxBound :: Int))))
      | otherwise = Nothing
      where
        us = ceiling (read (whole ++ frac) % 10 ^ length frac * 1000000 :: Rational) :: Integer

badUsage :: String -> IO a
badUsage msg = do
  hPutStrLn stderr ("dgram_client: " ++ msg)
  hPutStrLn stderr usage
  exitWith (ExitFailure 2)
