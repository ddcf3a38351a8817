-- DgramServer.hs -- a Unix-domain datagram echo server: each reply goes to its sender's own address
{-# LANGUAGE CApiFFI #-}
{-# LANGUAGE ScopedTypeVariables #-}

module Main (main) where

import Control.Concurrent (myThreadId, threadWaitRead, throwTo)
import Control.Exception (IOException, bracket, bracketOnError, catch, throwIO, try)
import Control.Monad (forever, unless)
import qualified Data.ByteString as BS
import qualified Data.ByteString.Char8 as BS8
import Data.Char (digitToInt, isOctDigit)
import Data.Word (Word8)
import Foreign.C.Error (Errno (..), eADDRINUSE, eAGAIN, eCONNREFUSED, eWOULDBLOCK, throwErrnoIfMinus1RetryMayBlock, throwErrnoIfMinus1Retry_)
import Foreign.C.Types (CInt (..), CSize (..), CUInt (..))
import Foreign.Marshal.Alloc (alloca, allocaBytes)
import Foreign.Ptr (Ptr, castPtr)
import Foreign.Storable (peek, poke)
import GHC.Foreign (peekCStringLen, withCStringLen)
import GHC.IO.Encoding (getFileSystemEncoding)
import GHC.IO.Exception (ioe_description, ioe_errno)
import Network.Socket hiding (bind)
import Network.Socket.Address (bind)
import System.Environment (getArgs)
import System.Exit (ExitCode (..), exitWith)
import System.IO
import System.Posix.Files (getSymbolicLinkStatus, isSocket, removeLink, setFileCreationMask, setFileMode)
import System.Posix.Signals (Handler (..), installHandler, sigINT, sigTERM)
import System.Posix.Types (CSsize (..), Fd (..), FileMode)

-- A Unix-domain datagram socket (AF_UNIX, SOCK_DGRAM) keeps UDP's message
-- boundaries -- one send is one datagram, one receive returns one whole
-- datagram -- and drops UDP's unreliability: the kernel copies each datagram
-- straight into the receiver's queue, so none is lost or reordered.  When
-- that queue is full the sender waits (or gets EAGAIN) instead.
--
-- An answer needs an address to go to, and a Unix-domain socket only has
-- one if it called bind.  So a client binds a path of its own before it
-- sends (see DgramClient.hs); a datagram from a socket that never did
-- arrives from "unnamed" and cannot be answered.

usage :: String
usage = "usage: dgram_server --path P [--mode M]"

-- | The receive buffer, and the largest datagram we answer.
bufferSize :: Int
bufferSize = 65536

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
    -- Only start-up errors (and a failing receive) get this far; each
    -- datagram's errors are caught in echoLoop.
    hPutStrLn stderr ("dgram_server: " ++ ioe_description e)
    exitWith (ExitFailure 1)

-- | Once bind has succeeded, `bracket` guarantees that `release` closes the
-- socket and removes its file, however the rest ends.
run :: UnixPath -> FileMode -> IO ()
run path mode =
  bracket (open path) (release path) $ \sock -> do
    setMode path mode
    announce path
    echoLoop sock

-- | What --path names.  SockAddrUnix is network's sockaddr_un: sun_family is
-- AF_UNIX, sun_path (108 bytes) holds the name.
data UnixPath = UnixPath
  { pathName :: String, -- as given: for messages, lstat, chmod and unlink
    pathAddr :: SockAddr, -- for bind and connect
    pathAbstract :: Bool -- an @name: no file, nothing to chmod or unlink
  }

-- ANCHOR: bind
-- | socket(AF_UNIX, SOCK_DGRAM, 0), bound like the stream server's socket
-- (StreamServer.hs) but with no listen: a datagram socket is ready to
-- receive as soon as it has an address.  bracketOnError closes it if
-- binding fails.
open :: UnixPath -> IO Socket
open path =
  bracketOnError (socket AF_UNIX Datagram defaultProtocol) close $ \sock -> do
    withFdSocket sock setCloseOnExecIfNeeded
    -- bind creates the socket file with the permissions 0777 minus the
    -- umask: with 077 only we can use it until setMode says otherwise.
    -- The umask belongs to the whole process, so bracket puts the old one
    -- back once bind has made the file.
    bracket (setFileCreationMask 0o077) setFileCreationMask $ \_ ->
      bindUnix Datagram sock path
    return sock

-- | bind, and what to do when the name is taken (EADDRINUSE): an abstract
-- name is held by a live socket; a file that is not a socket (lstat) is
-- left alone; a socket file is probed with a socket of our own type.  If
-- connect says ECONNREFUSED, nobody is bound there any more: the file is a
-- dead server's leftover, so remove it and bind again.  Anything else -- a
-- successful connect, EPROTOTYPE from a live socket of another type -- means
-- the name is in use: refuse, and touch nothing.
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

-- | chmod the file to --mode: sending to a socket file needs write
-- permission on it.  An abstract name has no file and no permissions.
setMode :: UnixPath -> FileMode -> IO ()
setMode path mode =
  unless (pathAbstract path) $
    setFileMode (pathName path) mode `catch` failAs ("chmod " ++ pathName path)
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

-- ANCHOR: echo
-- | Receive a datagram, send it back to whoever sent it, forever.
--
-- The reply goes out with sendto(2), one datagram to the address recvfrom
-- reported for the sender.  It must never make us wait: if the client's
-- queue is full (a client that sends and never reads), a send that waited
-- for room would stall the server for everyone.  So, as in C, we send with
-- MSG_DONTWAIT, which fails at once with EAGAIN instead, and we drop that
-- reply.  (network's sendTo cannot do this: it has no flags argument, and
-- on EAGAIN it waits for the socket to become writable and tries again --
-- which, for a socket like ours that is not connected, Linux reports at
-- once even while the receiver's queue is still full.  So we call sendto
-- ourselves; see sendReply.)
--
-- A reply to a client that has gone fails at once too: ENOENT if its file
-- is gone, ECONNREFUSED if the file is there but nobody is bound to it.
-- Every problem with one datagram is logged and the loop goes on.
echoLoop :: Socket -> IO ()
echoLoop sock = forever $ do
  (datagram, size, peer) <- receiveFrom sock
  let from = sunPath peer
  name <- showPeer from
  if size > bufferSize
    then logLine (name ++ ": datagram longer than " ++ show bufferSize ++ " bytes, dropped")
    else
      if BS.null from
        then logLine (show size ++ " bytes from unnamed: no address to reply to")
        else do
          logLine (show size ++ " bytes from " ++ name)
          sent <- try (sendReply sock datagram peer)
          case sent of
            Right () -> return ()
            Left e
              | hasErrno eAGAIN e || hasErrno eWOULDBLOCK e ->
                  logLine (name ++ ": its queue is full, reply dropped")
              | otherwise -> logLine (name ++ ": " ++ ioe_description e)

-- | recvfrom(2), called directly, because network 3.1.2.7's recvFrom and
-- recvMsg cannot receive from an unnamed sender: the kernel then writes no
-- address at all, network fails to decode the empty one, falls back on
-- getpeername, and throws ENOTCONN -- with the datagram already consumed.
-- They also read an abstract sender's address as a C string, which ends at
-- its leading NUL.  Calling recvfrom ourselves gives us the address length
-- the kernel reports, and so every case right.
--
-- It returns the datagram (at most bufferSize bytes), its real size, and
-- the sender's address exactly as the kernel wrote it: a struct sockaddr_un
-- cut to the length recvfrom reported (sunPath reads the name in it).
-- MSG_TRUNC makes recvfrom return a longer datagram's real size instead of
-- the bytes it copied, so we can tell that it did not fit.
--
-- The socket is non-blocking (network makes all its sockets so, and lets
-- GHC's I/O manager do the waiting): when no datagram is queued, recvfrom
-- fails with EAGAIN, and throwErrnoIfMinus1RetryMayBlock waits with
-- threadWaitRead -- which a signal's ExitSuccess can interrupt -- and calls
-- it again.  It also retries on EINTR, and turns any other failure into an
-- IOException with the errno's text.
receiveFrom :: Socket -> IO (BS.ByteString, Int, BS.ByteString)
receiveFrom sock =
  withFdSocket sock $ \fd ->
    allocaBytes bufferSize $ \buf ->
      allocaBytes sockaddrUnSize $ \sa ->
        alloca $ \saLen -> do
          n <-
            throwErrnoIfMinus1RetryMayBlock
              "recvfrom"
              ( do
                  poke saLen (fromIntegral sockaddrUnSize) -- in: room; out: length
                  c_recvfrom fd buf (fromIntegral bufferSize) msgTrunc sa saLen
              )
              (threadWaitRead (Fd fd))
          let size = fromIntegral n
          datagram <- BS.packCStringLen (castPtr buf, min size bufferSize)
          len <- fromIntegral <$> peek saLen
          peer <- BS.packCStringLen (castPtr sa, min len sockaddrUnSize)
          return (datagram, size, peer)

-- | The sun_path bytes of an address from recvfrom: everything after
-- sun_family's 2 bytes.  Empty for an unnamed sender (the kernel reports
-- sun_family alone); for an abstract one a NUL and the name, every byte
-- counted by the length, NULs included; for a file the path, whose
-- terminating NUL (and anything after it) we drop.
sunPath :: BS.ByteString -> BS.ByteString
sunPath peer = case BS.uncons raw of
  Just (0, _) -> raw -- abstract
  _ -> BS.takeWhile (/= 0) raw -- a path (or nothing)
  where
    raw = BS.drop 2 peer

-- | sendto(2) the datagram to peer, the address bytes recvfrom gave us,
-- with the length it gave us -- so an abstract name goes back exactly as it
-- came, with no padding that would make it a different name.
--
-- MSG_DONTWAIT makes this one call non-blocking whatever the socket's mode
-- (ours already is, but this is the call where it matters): a full queue
-- is EAGAIN (EWOULDBLOCK), now, never a wait.  The call is `unsafe`, like
-- recvfrom's, which is fine for a call that cannot block.
-- throwErrnoIfMinus1Retry_ tries again on EINTR and turns any other failure
-- into an IOException carrying the errno and its text, for echoLoop to log.
-- A datagram socket sends the whole datagram or nothing, so there is no
-- partial send to finish.
sendReply :: Socket -> BS.ByteString -> BS.ByteString -> IO ()
sendReply sock datagram peer =
  withFdSocket sock $ \fd ->
    BS.useAsCStringLen datagram $ \(buf, size) ->
      BS.useAsCStringLen peer $ \(sa, saLen) ->
        throwErrnoIfMinus1Retry_ "sendto" $
          c_sendto fd (castPtr buf) (fromIntegral size) msgDontWait (castPtr sa) (fromIntegral saLen)

-- | sizeof(struct sockaddr_un) on Linux: sun_family's 2 bytes and sun_path's 108.
sockaddrUnSize :: Int
sockaddrUnSize = 110

foreign import ccall unsafe "recvfrom"
  c_recvfrom :: CInt -> Ptr Word8 -> CSize -> CInt -> Ptr Word8 -> Ptr CUInt -> IO CSsize

foreign import ccall unsafe "sendto"
  c_sendto :: CInt -> Ptr Word8 -> CSize -> CInt -> Ptr Word8 -> CUInt -> IO CSsize

-- The CApiFFI extension reads the constants from the C header itself.
foreign import capi "sys/socket.h value MSG_TRUNC" msgTrunc :: CInt

foreign import capi "sys/socket.h value MSG_DONTWAIT" msgDontWait :: CInt
-- ANCHOR_END: echo

-- ANCHOR: stop
-- | SIGTERM and SIGINT are delivered to a fresh Haskell thread, not to the
-- one waiting for a datagram.  The handler logs the signal and throws
-- ExitSuccess at the main thread: that interrupts the wait, `bracket` runs
-- `release`, and main ends with exit status 0.
installStop :: IO ()
installStop = do
  mainThread <- myThreadId
  let stop name = Catch $ do
        logLine ("stopping on " ++ name)
        throwTo mainThread ExitSuccess
  _ <- installHandler sigTERM (stop "SIGTERM") Nothing
  _ <- installHandler sigINT (stop "SIGINT") Nothing
  return ()

-- | Close the socket, then unlink its file, which would otherwise outlive
-- it and block the next server's bind.  We only get here if our own bind
-- succeeded, so the file is ours.  An abstract name needs nothing: it
-- vanishes with the last socket bound to it.
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

-- | A sender's sun_path bytes as we log them: "unnamed", "@name", or the
-- path, decoded with the file-system encoding.
showPeer :: BS.ByteString -> IO String
showPeer from = case BS.uncons from of
  Nothing -> return "unnamed"
  Just (0, name) -> ('@' :) <$> decode name
  _ -> decode from
  where
    decode bytes = do
      enc <- getFileSystemEncoding
      BS.useAsCStringLen bytes (peekCStringLen enc)

logLine :: String -> IO ()
logLine msg = hPutStrLn stderr ("dgram_server: " ++ msg)

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
      hPutStrLn stderr ("dgram_server: " ++ msg)
      hPutStrLn stderr usage
      exitWith (ExitFailure 2)

-- | A mode as chmod takes it: exactly three octal digits ("600", "666").
readMode :: String -> Maybe FileMode
readMode m
  | length m == 3, all isOctDigit m = Just (fromIntegral (foldl (\n c -> n * 8 + digitToInt c) 0 m))
  | otherwise = Nothing
