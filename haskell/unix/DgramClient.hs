-- DgramClient.hs -- a Unix-domain datagram echo client: bind an address of its own, and remove it after
{-# LANGUAGE ScopedTypeVariables #-}

module Main (main) where

import Control.Exception (IOException, bracket, bracketOnError, catch)
import Control.Monad (unless, when)
import qualified Data.ByteString as BS
import qualified Data.ByteString.Char8 as BS8
import Data.Char (isDigit)
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
import System.Posix.Files (removeLink)
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
-- TMPDIR is unset or empty.  The pid makes it unique among the clients
-- running at the same time.
ownPath :: IO FilePath
ownPath = do
  tmpdir <- lookupEnv "TMPDIR"
  pid <- getProcessID
  let dir = case tmpdir of
        Just d | not (null d) -> d
        _ -> "/tmp"
  return (dir ++ "/dgram_client." ++ show pid ++ ".sock")

-- | socket(AF_UNIX, SOCK_DGRAM, 0) and bind it to our own path, which
-- creates the file the server's reply will be addressed to.  A file
-- already there belongs to an earlier client with our pid that was killed
-- before it could clean up: remove it first, or bind would fail with
-- EADDRINUSE.  (The bind is Network.Socket.Address's, which is bind(2) and
-- nothing more; Network.Socket's, in network 3.1.2.7, would itself remove
-- a file in the way if connecting to it is refused, whatever the file is.)
bindOwn :: FilePath -> IO Socket
bindOwn own = do
  addr <- either (\why -> die (own ++ ": " ++ why)) (return . SockAddrUnix) =<< pathBytes own
  bracketOnError (socket AF_UNIX Datagram defaultProtocol) close $ \sock -> do
    removeLink own `catch` \e ->
      unless (isDoesNotExistError e) $ failWith ("remove " ++ own) e
    bind sock addr `catch` failWith ("bind " ++ own)
    return sock
-- ANCHOR_END: bind

-- ANCHOR: connect
-- | connect on a datagram socket sends nothing.  It makes the server's
-- address the default destination, so we can use send and recv, and makes
-- the kernel deliver only datagrams from that address.  Unlike UDP's, it
-- checks at once that somebody is there: a missing file is ENOENT ("No
-- such file or directory"), a file nobody is bound to any more is
-- ECONNREFUSED.
connectTo :: Socket -> String -> SockAddr -> IO ()
connectTo sock path server = connect sock server `catch` failWith ("connect to " ++ path)
-- ANCHOR_END: connect

-- ANCHOR: send
-- | send one datagram: all of the payload or nothing.  Not sendAll: sendAll,
-- made for streams, sends nothing at all for an empty string, and an empty
-- datagram is a datagram too.  If the server's queue is full, send waits
-- until there is room.
sendDatagram :: Socket -> String -> BS.ByteString -> IO ()
sendDatagram sock path payload = do
  _ <- send sock payload `catch` failWith ("send to " ++ path)
  return ()
-- ANCHOR_END: send

-- ANCHOR: receive
-- | Wait up to `wait` microseconds for the reply: one whole datagram (up to
-- 64 KiB, the most the server sends), even an empty one.  recv would wait
-- as long as it takes, so System.Timeout.timeout runs it and, if the time
-- runs out first, interrupts it and returns Nothing.
receive :: Socket -> String -> Int -> IO (Maybe BS.ByteString)
receive sock path wait =
  timeout wait (recv sock maxDatagram) `catch` failWith ("receive from " ++ path)
-- ANCHOR_END: receive

-- ANCHOR: cleanup
-- | Close the socket and remove the file bind created.  Nobody else will:
-- the file outlives the socket, and without this every run would leave one
-- behind in $TMPDIR.  `bracket` calls this on every exit after bindOwn
-- succeeded, including die's exitWith, which is an exception too.
cleanup :: FilePath -> Socket -> IO ()
cleanup own sock = do
  close sock
  removeLink own `catch` \(_ :: IOException) -> return ()
-- ANCHOR_END: cleanup

-- | A path's bytes, as network's SockAddrUnix wants them.  sun_path has 108
-- bytes and a portable path keeps its terminating NUL, so it may have at most
-- 107 bytes.  Bytes, not characters: "é" is two.
--
-- network 3.1.2.7's SockAddrUnix takes a String but stores each Char as one
-- byte (castCharToCChar: 'é' would become the single byte 0xE9, not UTF-8's
-- 0xC3 0xA9), and it does not check the length: a longer path would be
-- written past the end of its buffer.  So we encode the path to bytes
-- ourselves, with the file-system encoding getArgs decoded it with, which
-- gives back exactly the bytes of the command line, check their number, and
-- hand network one Char per byte.
pathBytes :: String -> IO (Either String String)
pathBytes path = do
  enc <- getFileSystemEncoding
  bytes <- withCStringLen enc path BS.packCStringLen
  return $
    if BS.length bytes > 107
      then Left (show (BS.length bytes) ++ " bytes is more than the 107 that fit in sun_path")
      else Right (BS8.unpack bytes)

-- | --path P: a file's path, or @name, an address in Linux's abstract
-- namespace: a NUL byte and then the name's bytes, with the address length
-- counting exactly those (network passes 2 + 1 + the name's length for a
-- String that starts with NUL; a padded length would be a different name).
-- At most 107 bytes after the @.
unixPath :: String -> IO (Either String SockAddr)
unixPath "" = return (Left "empty --path")
unixPath "@" = return (Left "empty abstract name: --path @")
unixPath ('@' : name) =
  either (Left . ("abstract name of " ++)) (Right . SockAddrUnix . ('\0' :)) <$> pathBytes name
unixPath path = either (Left . ("path of " ++)) (Right . SockAddrUnix) <$> pathBytes path

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

-- | The command line: --path P (required), --timeout S (default 1 second).
-- Returns the path as given, its address, and the timeout in microseconds
-- and as given (for the message).
parseArgs :: [String] -> IO (String, SockAddr, (Int, String))
parseArgs = go Nothing (1000000, "1")
  where
    go Nothing _ [] = badUsage "missing --path"
    go (Just p) wait [] = do
      addr <- either badUsage return =<< unixPath p
      return (p, addr, wait)
    go _ _ ("--help" : _) = putStrLn usage >> exitWith ExitSuccess
    go _ wait ("--path" : p : rest) = go (Just p) wait rest
    go p _ ("--timeout" : s : rest)
      | Just us <- readSeconds s = go p (us, s) rest
      | otherwise = badUsage ("bad timeout: " ++ s)
    go _ _ [flag] | flag `elem` ["--path", "--timeout"] = badUsage ("missing value for " ++ flag)
    go _ _ (arg : _) = badUsage ("unknown argument: " ++ arg)
    -- Seconds as a decimal number greater than 0 ("1", "0.2", ".5"), turned into
    -- whole microseconds: rounded up, so that 0.0000001 does not become "no
    -- wait at all", and at most what an Int holds.
    readSeconds s
      | ok && us > 0 = Just (fromInteger (min us (toInteger (maxBound :: Int))))
      | otherwise = Nothing
      where
        (whole, point) = break (== '.') s
        frac = drop 1 point
        ok = not (null (whole ++ frac)) && all isDigit (whole ++ frac)
        seconds = read (whole ++ frac) % 10 ^ length frac :: Rational
        us = ceiling (seconds * 1000000) :: Integer

badUsage :: String -> IO a
badUsage msg = do
  hPutStrLn stderr ("dgram_client: " ++ msg)
  hPutStrLn stderr usage
  exitWith (ExitFailure 2)
