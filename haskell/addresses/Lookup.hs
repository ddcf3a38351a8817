-- Lookup.hs -- getAddrInfo: turn a host name or a numeric address into socket addresses

module Main (main) where

import Control.Exception (IOException, catch, try)
import Control.Monad (forM_)
import Data.List (intercalate, isPrefixOf)
import Data.Maybe (fromMaybe)
import GHC.IO.Exception (ioe_description)
import Network.Socket
import System.Environment (getArgs)
import System.Exit (ExitCode (..), exitWith)
import System.IO
import System.Posix.Files (readSymbolicLink)

usage :: String
usage = "usage: lookup [--host H]"

main :: IO ()
main = do
  hSetBuffering stderr LineBuffering
  host <- parseArgs =<< getArgs
  checkStdout
  -- ANCHOR: resolve
  -- getAddrInfo is getaddrinfo(3); the hints are a record, defaultHints with
  -- the fields we care about changed.  AF_UNSPEC: IPv4 and IPv6; Stream: one
  -- entry per address, not one per socket type.  No service (Nothing), so
  -- every port is 0.  A failure is an IOException whose ioe_description is
  -- gai_strerror's text ("Name or service not known").
  let hints = defaultHints {addrFamily = AF_UNSPEC, addrSocketType = Stream}
  addrs <- getAddrInfo (Just hints) (Just host) Nothing
    `catch` \e -> failWith ("resolve " ++ host ++ ": " ++ ioe_description e)
  -- ANCHOR_END: resolve
  printAddrs addrs
  -- stdout is buffered: a write error (a full disk, a closed pipe) shows here.
  hFlush stdout `catch` \e -> failWith ("write stdout: " ++ ioe_description e)

-- ANCHOR: print
-- | The list comes in the resolver's order of preference.  Each AddrInfo
-- holds socket's three arguments (addrFamily, addrSocketType, addrProtocol)
-- and addrAddress, a SockAddr.
printAddrs :: [AddrInfo] -> IO ()
printAddrs addrs = forM_ addrs $ \addr -> do
  address <- showHost (addrAddress addr)
  putStrLn (unwords [familyName (addrFamily addr), typeName (addrSocketType addr),
                     protocolName (addrProtocol addr), address])

-- | Anything we did not ask for is printed as its C number ("proto-17"),
-- not hidden: GeneralFamily and GeneralSocketType carry the bare number.
familyName :: Family -> String
familyName AF_INET = "inet"
familyName AF_INET6 = "inet6"
familyName f = "family-" ++ show (packFamily f)

typeName :: SocketType -> String
typeName Stream = "stream"
typeName (GeneralSocketType n) = "type-" ++ show n

protocolName :: ProtocolNumber -> String
protocolName 6 = "tcp"
protocolName n = "proto-" ++ show n

-- | SockAddrInet is a sockaddr_in, SockAddrInet6 a sockaddr_in6.  network
-- converts the port for us, but keeps a HostAddress as the raw network-order
-- bytes in a Word32; hostAddressToTuple gives the four bytes as written.
-- getNameInfo [NI_NUMERICHOST] is getnameinfo(3) without DNS; a scope of 0
-- keeps a "%eth0" off a link-local address.
showHost :: SockAddr -> IO String
showHost (SockAddrInet _ host) = do
  let (a, b, c, d) = hostAddressToTuple host
  return (intercalate "." (map show [a, b, c, d]))
showHost (SockAddrInet6 _ _ host _) = do
  (name, _) <- getNameInfo [NI_NUMERICHOST] True False (SockAddrInet6 0 0 host 0)
  return (fromMaybe "?" name)
showHost _ = return "?"
-- ANCHOR_END: print

-- | Started with stdout closed (`lookup >&-`)?  Then say so before any
-- socket exists: getaddrinfo may open one to ask a DNS server, and what we
-- print would go into it.  C asks fcntl(1, F_GETFD); in Haskell that is too
-- late, because GHC's runtime opens descriptors of its own before main runs
-- (its I/O manager's epoll instance, its timer), and the first of them takes
-- the lowest free number, 1.  So we ask the kernel what descriptor 1 is:
-- nothing, or one of those anonymous inodes ("anon_inode:[eventpoll]"),
-- which no shell passes as a program's stdout.
checkStdout :: IO ()
checkStdout = do
  target <- try (readSymbolicLink "/proc/self/fd/1") :: IO (Either IOException FilePath)
  case target of
    Right name | not ("anon_inode:" `isPrefixOf` name) -> return ()
    _ -> failWith "stdout: Bad file descriptor"

-- | One line on stderr, exit 1: the error rule for a failure at run time.
failWith :: String -> IO a
failWith msg = do
  hPutStrLn stderr ("lookup: " ++ msg)
  exitWith (ExitFailure 1)

-- | The command line, left to right; the first problem is the one reported.
-- --host H (default localhost).
parseArgs :: [String] -> IO HostName
parseArgs = go "localhost"
  where
    go h [] = return h
    go _ ("--help" : _) = putStrLn usage >> exitWith ExitSuccess
    go _ ["--host"] = badUsage "--host needs a value"
    go _ ("--host" : h : rest) = go h rest
    go _ (arg : _) = badUsage (unexpected arg)
    unexpected arg@('-' : _) = "unknown option: " ++ arg
    unexpected arg = "unexpected argument: " ++ arg
    badUsage msg = do
      hPutStrLn stderr ("lookup: " ++ msg)
      hPutStrLn stderr usage
      exitWith (ExitFailure 2)
