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
import Network.Socket hiding (bind)
import Network.Socket.Address (bind)
import Network.Socket.ByteString (recv, sendAll)
import System.Environment (getArgs)
import System.Exit (ExitCode (..), exitWith)
import System.IO
import System.Posix.Files (getSymbolicLinkStatus, isSocket, removeLink, setFileCreationMask, setFileMode)
import System.Posix.Signals (Handler (..), installHandler, sigINT, sigTERM)
import System.Posix.Types (FileMode)

-- A Unix-domain socket (AF_UNIX) joins two processes on the same machine.
-- Its address is not a host and a port but a name: a path in the file
-- system, where bind creates a special file (type "s" in ls -l) that
-- clients connect to, or a name in Linux's abstract namespace, written
-- here as @name, which has no file at all.  Everything else is the TCP
-- echo server of chapter 2 (../stream/EchoServer.hs): socket, bind, listen,
-- accept, recv and send behave the same; the kernel just copies the bytes
-- from one process to the other without any network protocol in between.

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
    announce path
    acceptLoop sock

-- | What --path names.  SockAddrUnix is network's sockaddr_un: sun_family is
-- AF_UNIX, sun_path (108 bytes) holds the name.
data UnixPath = UnixPath
  { pathName :: String, -- as given: for messages, lstat, chmod and unlink
    pathAddr :: SockAddr, -- for bind and connect
    pathAbstract :: Bool -- an @name: no file, nothing to chmod or unlink
  }

-- ANCHOR: bind
-- | socket(AF_UNIX, SOCK_STREAM, 0): a stream socket of the Unix domain.
-- bracketOnError closes it if binding fails, so the caller gets a bound
-- socket or an exception, never a leaked file descriptor.
open :: UnixPath -> IO Socket
open path =
  bracketOnError (socket AF_UNIX Stream defaultProtocol) close $ \sock -> do
    -- Do not leak the socket into programs we might exec.
    withFdSocket sock setCloseOnExecIfNeeded
    -- bind creates the socket file with the permissions 0777 minus the
    -- process's umask.  With umask 077 the file is born rwx for its owner
    -- only, so there is no moment at which another user could connect;
    -- listenOn then sets the mode that was asked for.  The umask belongs
    -- to the whole process, so bracket puts the old one back once bind has
    -- made the file.
    bracket (setFileCreationMask 0o077) setFileCreationMask $ \_ ->
      bindUnix Stream sock path
    return sock

-- | bind, and what to do when the name is taken (EADDRINUSE).  A file stays
-- behind when its server dies without removing it, and blocks every later
-- bind, so we look at what is there:
--
--   * an abstract name has no file: only a live socket can hold it;
--   * a file that is not a socket (lstat, which does not follow symlinks)
--     is somebody's data: leave it alone;
--   * a socket file: connect to it.  ECONNREFUSED means nobody is
--     listening, the file is a leftover: remove it and bind again.  A
--     connection, or any other error (EPROTOTYPE: a live socket of another
--     type), means a server is using it: refuse, and touch nothing.
--
-- The bind here is Network.Socket.Address's, which is bind(2) and nothing
-- more.  (Network.Socket's bind, in network 3.1.2.7, does its own version
-- of this on EADDRINUSE: it connects the socket being bound to the path --
-- and closes it if that works -- and when the connect is refused it
-- removes whatever is there, even a file that is not a socket, and binds
-- again.  That is not what we want, so we use the plain one.)
bindUnix :: SocketType -> Socket -> UnixPath -> IO ()
bindUnix kind sock path = bind sock (pathAddr path) `catch` \e ->
  if not (hasErrno eADDRINUSE e)
    then failAs ("bind " ++ name) e
    else
      if pathAbstract path
        then refuse
        else do
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
  where
    name = pathName path
    refuse = ioError (userError (name ++ ": another server is listening there"))

-- | chmod the file to --mode: connecting to a socket file needs write
-- permission on it, so 600 lets only our own user in and 666 everyone.
-- An abstract name has no file and no permissions: anyone on the machine
-- (in the same network namespace) can connect to it.  Then listen, as for
-- TCP: up to 128 connections wait for accept.
listenOn :: UnixPath -> FileMode -> Socket -> IO ()
listenOn path mode sock = do
  unless (pathAbstract path) $
    setFileMode (pathName path) mode `catch` failAs ("chmod " ++ pathName path)
  listen sock 128 `catch` failAs "listen"
-- ANCHOR_END: bind

-- | Print the READY line.
announce :: UnixPath -> IO ()
announce path = do
  -- ANCHOR: ready
  -- getsockname would return the path we bound, so we print it as given.
  -- (network 3.1's getSocketName reads sun_path as a C string, which for
  -- an abstract name ends at its leading NUL: it returns an empty name.)
  putStrLn ("READY " ++ pathName path)
  hFlush stdout -- whoever started us is waiting for this line
  -- ANCHOR_END: ready

-- ANCHOR: accept
-- | accept blocks until a client connects and returns a new socket for that
-- one connection, plus the client's address: usually none at all, since a
-- client only has an address if it called bind itself.  We serve clients
-- one at a time.  `bracket` closes the connection whether echo returns or
-- throws; `try` catches a failure with one client (a reset, a client that
-- vanished), which is logged and then forgotten.
acceptLoop :: Socket -> IO ()
acceptLoop sock = forever $
  bracket (accept sock) (close . fst) $ \(conn, peer) -> do
    name <- showPeer peer
    logLine ("connection from " ++ name)
    result <- try (echo conn 0)
    logLine $ case result of
      Right echoed -> name ++ ": closed, " ++ show echoed ++ " bytes echoed"
      Left e -> name ++ ": " ++ ioe_description e
-- ANCHOR_END: accept

-- ANCHOR: echo
-- | Send back every byte until the client half-closes, and return how many
-- that was (counting from `echoed`): exactly as over TCP.  recv returns at
-- most 64 KiB, and whatever has arrived so far; an empty string means end of
-- file.  sendAll loops until the kernel has taken the whole chunk.
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

-- | Close the listening socket, then unlink its file.  The file outlives the
-- socket: left behind, it would make the next server's bind fail with
-- EADDRINUSE (bindUnix cleans up after servers that crashed; we do not
-- crash).  We only get here if our own bind succeeded, so the file is ours.
-- An abstract name needs nothing: it vanishes with the last socket bound to
-- it.
release :: UnixPath -> Socket -> IO ()
release path sock = do
  close sock
  unless (pathAbstract path) $
    removeLink (pathName path) `catch` \(_ :: IOException) -> return ()
-- ANCHOR_END: stop

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
-- passes the exact length to bind and connect (2 + 1 + the name's length),
-- as other languages' programs do: a padded length would be a different
-- abstract name.
unixPath :: String -> IO (Either String UnixPath)
unixPath given = do
  enc <- getFileSystemEncoding
  bytes <- withCStringLen enc given BS.packCStringLen
  let tooLong b = show (BS.length b) ++ " bytes is more than the 107 that fit in sun_path"
  return $ case BS8.uncons bytes of
    Nothing -> Left "empty --path"
    Just ('@', name)
      | BS.null name -> Left "empty abstract name: --path @"
      | BS.length name > 107 -> Left ("abstract name of " ++ tooLong name)
      | otherwise -> Right (UnixPath given (SockAddrUnix ('\0' : BS8.unpack name)) True)
    _
      | BS.length bytes > 107 -> Left ("path of " ++ tooLong bytes)
      | otherwise -> Right (UnixPath given (SockAddrUnix (BS8.unpack bytes)) False)

-- | A client's address, as accept reports it: "unnamed" when it has none
-- (network gives an empty path then), otherwise its path, decoded from the
-- bytes network hands us (one Char per byte).  (network 3.1.2.7 also reads an
-- abstract address as a C string, so a client bound to @name shows up as
-- unnamed: stream clients seldom bind.)
showPeer :: SockAddr -> IO String
showPeer (SockAddrUnix "") = return "unnamed"
showPeer (SockAddrUnix bytes) = do
  enc <- getFileSystemEncoding
  BS.useAsCStringLen (BS8.pack bytes) (peekCStringLen enc)
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

-- | The command line: --path P (required), --mode M (three octal digits,
-- default 600).
parseArgs :: [String] -> IO (UnixPath, FileMode)
parseArgs = go Nothing 0o600
  where
    go Nothing _ [] = badUsage "missing --path"
    go (Just p) mode [] = either badUsage (\path -> return (path, mode)) =<< unixPath p
    go _ _ ("--help" : _) = putStrLn usage >> exitWith ExitSuccess
    go _ mode ("--path" : p : rest) = go (Just p) mode rest
    go p _ ("--mode" : m : rest)
      | Just mode <- readMode m = go p mode rest
      | otherwise = badUsage ("bad mode: " ++ m)
    go _ _ [flag] | flag `elem` ["--path", "--mode"] = badUsage ("missing value for " ++ flag)
    go _ _ (arg : _) = badUsage ("unknown argument: " ++ arg)
    badUsage msg = do
      hPutStrLn stderr ("stream_server: " ++ msg)
      hPutStrLn stderr usage
      exitWith (ExitFailure 2)

-- | A mode as chmod takes it: exactly three octal digits ("600", "666").
readMode :: String -> Maybe FileMode
readMode m
  | length m == 3, all isOctDigit m = Just (fromIntegral (foldl (\n c -> n * 8 + digitToInt c) 0 m))
  | otherwise = Nothing
