-- CredClient.hs -- a client the server identifies through the kernel: connect, print the answer
module Main (main) where

import Control.Exception (IOException, bracket, bracketOnError, catch, try)
import Control.Monad (unless)
import qualified Data.ByteString as BS
import qualified Data.ByteString.Char8 as BS8
import Data.List (isPrefixOf)
import GHC.Foreign (withCStringLen)
import GHC.IO.Encoding (getFileSystemEncoding)
import GHC.IO.Exception (ioe_description)
import Network.Socket
import Network.Socket.ByteString (recv)
import System.Environment (getArgs)
import System.Exit (ExitCode (..), exitWith)
import System.IO
import System.Posix.Files (readSymbolicLink)

-- The client sends nothing about itself: connect is enough.  At that moment
-- the kernel records our process id, user id and group id on the
-- connection, and the server reads them from there (SO_PEERCRED).  We just
-- print what the server tells us it saw.

usage :: String
usage = "usage: cred_client --path P"

main :: IO ()
main = do
  hSetBuffering stderr LineBuffering
  -- A path is bytes to the kernel.  getArgs decoded ours with the file-system
  -- encoding; printing in that same encoding writes back exactly the bytes
  -- we were given, whatever the locale.
  hSetEncoding stderr =<< getFileSystemEncoding
  (path, addr) <- parseArgs =<< getArgs
  checkStdout
  -- Bytes, not text: what the server sends goes to stdout unchanged.
  hSetBinaryMode stdout True
  hSetBuffering stdout NoBuffering
  bracket (connectTo path addr) close (receiveStdout path)

-- ANCHOR: connect
-- | socket(AF_UNIX, SOCK_STREAM, 0) and connect, as in StreamClient.hs.
-- This is the moment the kernel takes down our credentials for the server.
connectTo :: String -> SockAddr -> IO Socket
connectTo path addr =
  bracketOnError (socket AF_UNIX Stream defaultProtocol) close $ \sock -> do
    connect sock addr `catch` failWith ("connect to " ++ path)
    return sock
-- ANCHOR_END: connect

-- ANCHOR: receive
-- | Copy the socket to stdout until the server closes the connection (recv
-- returns an empty ByteString at end of file).
receiveStdout :: String -> Socket -> IO ()
receiveStdout path sock = do
  chunk <- recv sock 65536 `catch` failWith ("receive from " ++ path)
  unless (BS.null chunk) $ do
    BS.hPut stdout chunk `catch` failWith "write stdout"
    receiveStdout path sock
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

-- | Started with stdout closed (`cred_client >&-`)?  Then say so before
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
      hPutStrLn stderr "cred_client: stdout: Bad file descriptor"
      exitWith (ExitFailure 1)

-- | A failed step: one line that says which step and why ("connect to
-- /tmp/cred.sock: Permission denied"), and exit 1.  ioe_description is the
-- system's own text for the error (strerror); `show` would add the Haskell
-- function and socket names.
failWith :: String -> IOException -> IO a
failWith what e = do
  hPutStrLn stderr ("cred_client: " ++ what ++ ": " ++ ioe_description e)
  exitWith (ExitFailure 1)

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
      hPutStrLn stderr ("cred_client: " ++ msg)
      hPutStrLn stderr usage
      exitWith (ExitFailure 2)
