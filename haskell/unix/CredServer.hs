-- CredServer.hs -- asking the kernel who the client is: its pid, uid and gid (SO_PEERCRED)
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
import Network.Socket.ByteString (sendAll)
import System.Environment (getArgs)
import System.Exit (ExitCode (..), exitWith)
import System.IO
import System.Posix.Files (getSymbolicLinkStatus, isSocket, removeLink, setFileCreationMask, setFileMode)
import System.Posix.Signals (Handler (..), installHandler, sigINT, sigTERM)
import System.Posix.Types (FileMode)

-- Over TCP a server knows a client's address and nothing else.  Over a
-- Unix-domain socket both ends run on the same kernel, which records who
-- called connect (and who called listen): the process id, user id and
-- group id at that moment.  A server can ask for that record and trust it,
-- because the client cannot forge it -- unlike anything the client says.

usage :: String
usage = "usage: cred_server --path P [--mode M]"

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
    hPutStrLn stderr ("cred_server: " ++ ioe_description e)
    exitWith (ExitFailure 1)

-- | Once bind has succeeded, `bracket` guarantees that `release` closes the
-- socket and removes its file, however the rest ends.
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
-- | socket(AF_UNIX, SOCK_STREAM, 0), bound exactly as in StreamServer.hs:
-- umask 077 so the file is born private, bind, the stale-file probe, then
-- chmod to --mode and listen.
open :: UnixPath -> IO Socket
open path =
  bracketOnError (socket AF_UNIX Stream defaultProtocol) close $ \sock -> do
    withFdSocket sock setCloseOnExecIfNeeded
    -- The umask belongs to the whole process, so put the old one back
    -- once bind has made the file.
    bracket (setFileCreationMask 0o077) setFileCreationMask $ \_ ->
      bindUnix Stream sock path
    return sock

-- | bind, and what to do when the name is taken (EADDRINUSE): an abstract
-- name is held by a live socket; a file that is not a socket (lstat) is
-- left alone; a socket file is probed with a connect.  ECONNREFUSED means
-- nobody listens there any more: remove the leftover and bind again.
-- Anything else means the name is in use: refuse, and touch nothing.
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

-- | chmod the file to --mode (connecting needs write permission on it; an
-- abstract name has no file), then listen.
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
-- | Accept clients one at a time; tell each who it is and close the
-- connection.  A failure with one client is logged and forgotten.
acceptLoop :: Socket -> IO ()
acceptLoop sock = forever $
  bracket (accept sock) (close . fst) $ \(conn, peer) -> do
    result <- try (tellCredentials conn)
    case result of
      Right line -> logLine line
      Left (e :: IOException) -> do
        name <- showPeer peer
        logLine (name ++ ": " ++ ioe_description e)
-- ANCHOR_END: accept

-- ANCHOR: peercred
-- | getPeerCredential is getsockopt(SOL_SOCKET, SO_PEERCRED) on Linux: it
-- fills a struct ucred {pid, uid, gid} with what the kernel recorded when
-- the client called connect.  It is a snapshot: the client may have
-- exited since, and its pid been reused; the uid and gid stay true of
-- whoever opened the connection.  network returns Nothing for all three
-- when the kernel has no record (a socket that was never connected).
-- Send the answer as one line, and return it for the log.
tellCredentials :: Socket -> IO String
tellCredentials conn = do
  creds <- getPeerCredential conn
  case creds of
    (Just pid, Just uid, Just gid) -> do
      let line = "pid=" ++ show pid ++ " uid=" ++ show uid ++ " gid=" ++ show gid
      sendAll conn (BS8.pack (line ++ "\n"))
      return line
    _ -> ioError (userError "the kernel has no credentials for this peer")
-- ANCHOR_END: peercred

-- ANCHOR: stop
-- | SIGTERM and SIGINT are delivered to a fresh Haskell thread.  The handler
-- logs the signal and throws ExitSuccess at the main thread: that interrupts
-- accept, the `bracket`s close the client and run `release`, and main ends
-- with exit status 0.
installStop :: IO ()
installStop = do
  mainThread <- myThreadId
  let stop name = Catch $ do
        logLine ("stopping on " ++ name)
        throwTo mainThread ExitSuccess
  _ <- installHandler sigTERM (stop "SIGTERM") Nothing
  _ <- installHandler sigINT (stop "SIGINT") Nothing
  return ()

-- | Close the listening socket, then unlink its file, which would otherwise
-- outlive it and block the next server's bind.  We only get here if our own
-- bind succeeded, so the file is ours.  An abstract name needs nothing.
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
logLine msg = hPutStrLn stderr ("cred_server: " ++ msg)

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
      hPutStrLn stderr ("cred_server: " ++ msg)
      hPutStrLn stderr usage
      exitWith (ExitFailure 2)

-- | A mode as chmod takes it: exactly three octal digits ("600", "666").
readMode :: String -> Maybe FileMode
readMode m
  | length m == 3, all isOctDigit m = Just (fromIntegral (foldl (\n c -> n * 8 + digitToInt c) 0 m))
  | otherwise = Nothing
