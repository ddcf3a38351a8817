-- StreamServer.hs -- a Unix-domain stream echo server: a socket file (or @abstract name), its mode, its cleanup
{-# LANGUAGE ScopedTypeVariables #-}

module Main (main) where

import Control.Concurrent (myThreadId, throwTo)
import Control.Exception (IOException, bracket, bracketOnError, catch, throwIO, try)
import Control.Monad (forever, unless)
import qualified Data.ByteString as BS
import qualified Data.ByteString.Char8 as BS8
import Data.Char (digitToInt, isOctDigit)
import Foreign.C.Error (Errno (..), eADDRINUSE, eCONNREFUSED)
import GHC.Foreign (peekCStringLen, withCStringLen)
import GHC.IO.Encoding (getFileSystemEncoding)
import GHC.IO.Exception (ioe_description, ioe_errno)
import Libc (socketName)
import Network.Socket hiding (bind)
import Network.Socket.Address (bind)
import Network.Socket.ByteString (recv, sendAll)
import System.Environment (getArgs)
import System.Exit (ExitCode (..), exitWith)
import System.IO
import System.Posix.Files (getSymbolicLinkStatus, isSocket, removeLink, setFileCreationMask, setFileMode)
import System.Posix.Signals (Handler (..), installHandler, sigINT, sigTERM)
import System.Posix.Types (FileMode)

-- The TCP echo server of chapter 2 (../stream/EchoServer.hs) on a
-- Unix-domain socket: socket, bind, listen, accept, recv and send behave the
-- same; the address is a path in the file system, or @name in Linux's
-- abstract namespace.

usage :: String
usage = "usage: stream_server --path P [--mode M]"

main :: IO ()
main = do
  hSetBuffering stdout LineBuffering
  hSetBuffering stderr LineBuffering
  -- A path is bytes to the kernel.  getArgs decoded ours with the file-system
  -- encoding; printing in that same encoding writes back exactly the bytes
  -- we were given, whatever the locale.
  enc <- getFileSystemEncoding
  mapM_ (`hSetEncoding` enc) [stdout, stderr]
  (path, mode) <- parseArgs =<< getArgs
  installStop
  run path mode `catch` \e -> do
    -- Only start-up errors get this far; each client's errors are caught in
    -- acceptLoop.
    hPutStrLn stderr ("stream_server: " ++ ioe_description e)
    exitWith (ExitFailure 1)

-- | Once bind has succeeded, `bracket` guarantees that `release` closes the
-- socket and removes its file, however the rest ends: a failed chmod, a
-- signal, an error.
run :: UnixPath -> FileMode -> IO ()
run path mode =
  bracket (open path) (release path) $ \sock -> do
    listenOn path mode sock
    announce sock
    acceptLoop sock

-- | What --path names.  SockAddrUnix is network's sockaddr_un: sun_family is
-- AF_UNIX, sun_path (108 bytes) holds the name.
data UnixPath = UnixPath
  { pathName :: String, -- as given: for messages, lstat, chmod and unlink
    pathAddr :: SockAddr, -- for bind and connect
    pathAbstract :: Bool -- an @name: no file, nothing to chmod or unlink
  }

-- ANCHOR: bind
-- | socket(AF_UNIX, SOCK_STREAM, 0), bound with the umask at 077
-- (setFileCreationMask is umask(2); bracket puts the process's old mask
-- back).  bracketOnError closes the socket if binding fails.
open :: UnixPath -> IO Socket
open path =
  bracketOnError (socket AF_UNIX Stream defaultProtocol) close $ \sock -> do
    bracket (setFileCreationMask 0o077) setFileCreationMask $ \_ ->
      bindUnix Stream sock path
    return sock
-- ANCHOR_END: bind

-- ANCHOR: probe
-- | bind, and the probe on EADDRINUSE.  This bind is Network.Socket.Address's,
-- bind(2) alone: Network.Socket's (network 3.1.2.7) probes by itself, and
-- removes whatever is in the way, even a file that is not a socket.
bindUnix :: SocketType -> Socket -> UnixPath -> IO ()
bindUnix kind sock path = bind sock (pathAddr path) `catch` inUse
  where
    name = pathName path
    refuse = ioError (userError (name ++ ": another server is listening there"))
    inUse e
      | not (hasErrno eADDRINUSE e) = failAs ("bind " ++ name) e
      | pathAbstract path = refuse
      | otherwise = do
          status <- getSymbolicLinkStatus name `catch` failAs ("lstat " ++ name)
          unless (isSocket status) $ ioError (userError (name ++ ": exists and is not a socket"))
          probe <- bracket (socket AF_UNIX kind defaultProtocol) close $ \s ->
            try (connect s (pathAddr path))
          case probe of
            Left err | hasErrno eCONNREFUSED err -> do
              logLine (name ++ ": removing stale socket file")
              removeLink name `catch` failAs ("unlink " ++ name)
              bind sock (pathAddr path) `catch` failAs ("bind " ++ name)
            _ -> refuse
-- ANCHOR_END: probe

-- ANCHOR: listen
-- | chmod (setFileMode) to --mode, unless the name is abstract; then listen.
listenOn :: UnixPath -> FileMode -> Socket -> IO ()
listenOn path mode sock = do
  unless (pathAbstract path) $
    setFileMode (pathName path) mode `catch` failAs ("chmod " ++ pathName path)
  listen sock 128 `catch` failAs ("listen on " ++ pathName path)
-- ANCHOR_END: listen

-- | Print the READY line.
announce :: Socket -> IO ()
announce sock = do
  -- ANCHOR: ready
  -- socketName (from Libc.hs) is getsockname(2): network's getSocketName
  -- reads sun_path as a C string, which loses an abstract name.
  bound <- socketName sock `catch` failAs "getsockname"
  text <- showName bound
  putStrLn ("READY " ++ text)
  hFlush stdout -- whoever started us is waiting for this line
  -- ANCHOR_END: ready

-- ANCHOR: accept
-- | accept, as over TCP; the client's address is usually none at all.  `try`
-- turns a failed accept into a Left, which is logged; `bracket` closes the
-- connection (mapM_ closes a Right's socket) whether echo returns or throws,
-- and the inner `try` catches a failure with this client, which is logged
-- and forgotten.
acceptLoop :: Socket -> IO ()
acceptLoop sock = forever $
  bracket (try (accept sock)) (mapM_ (close . fst)) $ \accepted -> case accepted of
    Left (e :: IOException) -> logLine ("accept: " ++ ioe_description e)
    Right (conn, peer) -> do
      name <- showPeer peer
      logLine ("connection from " ++ name)
      result <- try (echo conn 0)
      logLine $ case result of
        Right echoed -> name ++ ": closed, " ++ show echoed ++ " bytes echoed"
        Left e -> name ++ ": " ++ ioe_description e
-- ANCHOR_END: accept

-- ANCHOR: echo
-- | Send back every byte until the client half-closes, and return how many
-- that was (counting from `echoed`): exactly as over TCP.
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

-- ANCHOR: stop
-- | SIGTERM and SIGINT are delivered to a fresh Haskell thread, not to the
-- one blocked in accept or recv.  The handler logs the signal and throws
-- ExitSuccess at the main thread: that interrupts the blocking call, the
-- `bracket`s close the client and run `release`, and main ends with exit
-- status 0.  (SIGPIPE needs nothing: GHC's runtime ignores it.)
installStop :: IO ()
installStop = do
  mainThread <- myThreadId
  let stop name = Catch $ do
        logLine ("stopping on " ++ name)
        throwTo mainThread ExitSuccess
  _ <- installHandler sigTERM (stop "SIGTERM") Nothing
  _ <- installHandler sigINT (stop "SIGINT") Nothing
  return ()

-- | Close the listening socket, then unlink its file (removeLink).  `bracket`
-- runs this only once our own bind has succeeded, so the file is ours.  An
-- abstract name needs nothing.
release :: UnixPath -> Socket -> IO ()
release path sock = do
  close sock
  unless (pathAbstract path) $
    removeLink (pathName path) `catch` \(_ :: IOException) -> return ()
-- ANCHOR_END: stop

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
-- passes the exact length to bind and connect (2 + 1 + the name's length),
-- as other languages' programs do: a padded length would be a different
-- abstract name.
unixPath :: String -> IO (Either String UnixPath)
unixPath given = do
  enc <- getFileSystemEncoding
  bytes <- withCStringLen enc given BS.packCStringLen
  let abstract = BS8.take 1 bytes == BS8.pack "@"
      name = if abstract then BS.drop 1 bytes else bytes
      address = SockAddrUnix ((if abstract then ('\0' :) else id) (BS8.unpack name))
      check
        | BS.null bytes = Left "--path is empty"
        | BS.null name = Left "--path needs a name after the @"
        | BS.length name > 107 =
            Left ("--path is " ++ show (BS.length name) ++ " bytes; a socket address holds at most 107")
        | otherwise = Right (UnixPath given address abstract)
  return check

-- | sun_path bytes as we print them: "unnamed" (none), "@name" (a NUL and a
-- name) or a path, decoded with the file-system encoding.
showName :: BS.ByteString -> IO String
showName bytes = case BS.uncons bytes of
  Nothing -> return "unnamed"
  Just (0, name) -> ('@' :) <$> decode name
  _ -> decode bytes
  where
    decode b = do
      enc <- getFileSystemEncoding
      BS.useAsCStringLen b (peekCStringLen enc)

-- | A client's address, as accept reports it (network gives its bytes one
-- Char per byte).  network 3.1.2.7 reads it as a C string, so a client bound
-- to an abstract @name shows up as unnamed: stream clients seldom bind.
showPeer :: SockAddr -> IO String
showPeer (SockAddrUnix bytes) = showName (BS8.pack bytes)
showPeer addr = return (show addr)

logLine :: String -> IO ()
logLine msg = hPutStrLn stderr ("stream_server: " ++ msg)

-- | Does this exception carry this errno?
hasErrno :: Errno -> IOException -> Bool
hasErrno (Errno n) e = ioe_errno e == Just n

-- | Fail with a message that says which step went wrong ("bind /run/x.sock:
-- Permission denied").  ioe_description is the system's own text for the
-- error (strerror); `show` would add the Haskell function and socket names.
failAs :: String -> IOException -> IO a
failAs what e = throwIO (userError (what ++ ": " ++ ioe_description e))

-- | The command line, left to right; the first problem is the one reported.
-- --path P (required), --mode M (three octal digits, default 600).
parseArgs :: [String] -> IO (UnixPath, FileMode)
parseArgs = go Nothing 0o600
  where
    go Nothing _ [] = badUsage "--path is required"
    go (Just path) mode [] = return (path, mode)
    go _ _ ("--help" : _) = putStrLn usage >> exitWith ExitSuccess
    go _ _ [flag] | flag `elem` ["--path", "--mode"] = badUsage (flag ++ " needs a value")
    go _ mode ("--path" : p : rest) = unixPath p >>= either badUsage (\path -> go (Just path) mode rest)
    go path _ ("--mode" : m : rest) = case readMode m of
      Just mode -> go path mode rest
      Nothing -> badUsage ("bad mode: " ++ m)
    go _ _ (arg : _) = badUsage (unexpected arg)
    unexpected arg@('-' : _) = "unknown option: " ++ arg
    unexpected arg = "unexpected argument: " ++ arg
    badUsage msg = do
      hPutStrLn stderr ("stream_server: " ++ msg)
      hPutStrLn stderr usage
      exitWith (ExitFailure 2)

-- | A mode as chmod takes it: exactly three octal digits ("600", "666").
readMode :: String -> Maybe FileMode
readMode m
  | length m == 3, all isOctDigit m = Just (fromIntegral (foldl (\n c -> n * 8 + digitToInt c) 0 m))
  | otherwise = Nothing
