-- FdClient.hs -- receiving an open file descriptor (recvmsg, SCM_RIGHTS) and reading the file through it
module Main (main) where

import Control.Exception (IOException, bracket, bracketOnError, catch)
import Control.Monad (unless)
import qualified Data.ByteString as BS
import qualified Data.ByteString.Char8 as BS8
import GHC.Foreign (withCStringLen)
import GHC.IO.Encoding (getFileSystemEncoding)
import GHC.IO.Exception (ioe_description)
import Network.Socket
import System.Environment (getArgs)
import System.Exit (ExitCode (..), exitWith)
import System.IO
import System.Posix.IO (fdToHandle)
import System.Posix.Types (Fd (..))

-- The server sends us an open file, not its contents: a descriptor that the
-- kernel installs in our process.  We never learn the file's name and never
-- open it; we read it through the descriptor we were given.

usage :: String
usage = "usage: fd_client --path P"

main :: IO ()
main = do
  hSetBuffering stderr LineBuffering
  -- A path is bytes to the kernel.  getArgs decoded ours with the file-system
  -- encoding; printing in that same encoding writes back exactly the bytes
  -- we were given, whatever the locale.
  hSetEncoding stderr =<< getFileSystemEncoding
  (path, addr) <- parseArgs =<< getArgs
  -- Bytes, not text: no decoding, no newline translation.
  hSetBinaryMode stdout True
  hSetBuffering stdout NoBuffering
  bracket (connectTo path addr) close $ \sock -> do
    received <- receiveFd sock
    copyFile received

-- ANCHOR: connect
-- | socket(AF_UNIX, SOCK_STREAM, 0) and connect, as in StreamClient.hs.
connectTo :: String -> SockAddr -> IO Socket
connectTo path addr =
  bracketOnError (socket AF_UNIX Stream defaultProtocol) close $ \sock -> do
    connect sock addr `catch` failWith ("connect to " ++ path)
    return sock
-- ANCHOR_END: connect

-- ANCHOR: recv_fd
-- | network's recvFd is recvmsg(2) with room for the ordinary byte that
-- carries the message and for a control message.  If one of type
-- SCM_RIGHTS arrived, the kernel has already installed the descriptor in
-- our process, and recvFd returns its number; otherwise -1 (the server sent
-- no descriptor, or closed without sending anything).  The data byte itself
-- means nothing, and recvFd does not show it to us.
receiveFd :: Socket -> IO Fd
receiveFd sock = do
  fd <- recvFd sock `catch` failWith "receive"
  if fd < 0
    then die "the server sent no descriptor"
    else return (Fd fd)
-- ANCHOR_END: recv_fd

-- ANCHOR: read
-- | Read the received descriptor to end of file and copy it to stdout.
-- fdToHandle wraps it in a Handle, which reads with read(2), 64 KiB at a
-- time; hClose (bracket) closes it.  The descriptor shares its open file
-- with nobody: the server opened the file for us alone and closed its own
-- copy, so we read from the start.
copyFile :: Fd -> IO ()
copyFile fd =
  bracket (fdToHandle fd) hClose $ \h -> do
    hSetBinaryMode h True
    let loop = do
          chunk <- BS.hGetSome h 65536 `catch` failWith "read the descriptor"
          unless (BS.null chunk) $ do
            BS.hPut stdout chunk `catch` failWith "write stdout"
            loop
    loop
-- ANCHOR_END: read

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

-- | A failed step: one line that says which step and why ("connect to
-- /tmp/fd.sock: No such file or directory"), and exit 1.  ioe_description
-- is the system's own text for the error (strerror); `show` would add the
-- Haskell function and socket names.
failWith :: String -> IOException -> IO a
failWith what e = die (what ++ ": " ++ ioe_description e)

-- | One line, exit 1.  exitWith throws ExitFailure, so the `bracket`s still
-- close the socket and the descriptor on the way out.
die :: String -> IO a
die msg = do
  hPutStrLn stderr ("fd_client: " ++ msg)
  exitWith (ExitFailure 1)

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
      hPutStrLn stderr ("fd_client: " ++ msg)
      hPutStrLn stderr usage
      exitWith (ExitFailure 2)
