-- Lookup.hs -- getAddrInfo: turn a host name or a numeric address into socket addresses

module Main (main) where

import Control.Exception (IOException, catch)
import Control.Monad (forM_)
import Data.List (intercalate)
import Data.Maybe (fromMaybe)
import GHC.IO.Exception (ioe_description)
import Network.Socket
import System.Environment (getArgs)
import System.Exit (ExitCode (..), exitWith)
import System.IO

usage :: String
usage = "usage: lookup [--host H]"

main :: IO ()
main = do
  hSetBuffering stderr LineBuffering
  host <- parseArgs =<< getArgs
  -- ANCHOR: resolve
  -- getAddrInfo is getaddrinfo(3): it turns a name ("localhost") or a numeric
  -- literal ("::1") into a list of socket addresses, one per address and
  -- socket type it can be reached with.  The hints say what we want:
  -- AF_UNSPEC means any family, IPv4 (AF_INET) or IPv6 (AF_INET6) -- asking
  -- for one of those would drop the other's addresses.  Stream keeps only
  -- stream sockets; without it each address would come back three times (on
  -- glibc), for stream, datagram and raw sockets.  No service (Nothing) means
  -- no port: each address's port is 0.  On failure it throws an IOException
  -- whose ioe_description is gai_strerror's text ("Name or service not known").
  let hints = defaultHints {addrFamily = AF_UNSPEC, addrSocketType = Stream}
  addrs <- getAddrInfo (Just hints) (Just host) Nothing
    `catch` \e -> failWith (host ++ ": " ++ ioe_description (e :: IOException))
  -- ANCHOR_END: resolve
  printAddrs addrs
  -- stdout is buffered: a write error (a full disk, a closed pipe) shows here.
  hFlush stdout `catch` \e -> failWith ("write stdout: " ++ ioe_description e)

-- ANCHOR: print
-- | The list is in the resolver's order of preference (the rules of RFC 3484,
-- which /etc/gai.conf can adjust; e.g. IPv6 before IPv4 where both work): a
-- client should try the addresses in this order and use the first that
-- connects.  Each AddrInfo carries the three arguments socket takes --
-- addrFamily, addrSocketType (Stream: reliable, ordered bytes) and
-- addrProtocol (the protocol within that family and type, here TCP) -- and
-- addrAddress, the address to connect or bind to.
printAddrs :: [AddrInfo] -> IO ()
printAddrs addrs = forM_ addrs $ \addr -> do
  address <- showHost (addrAddress addr)
  putStrLn (unwords [familyName (addrFamily addr), typeName (addrSocketType addr),
                     protocolName (addrProtocol addr), address])

-- | The names we print.  We ask only for stream sockets, so anything else
-- would be a surprise: it is printed as a number ("proto-17") rather than
-- hidden.  GeneralFamily and GeneralSocketType give the bare C number.
familyName :: Family -> String
familyName AF_INET = "inet"
familyName AF_INET6 = "inet6"
familyName f = "family-" ++ show (packFamily f)

typeName :: SocketType -> String
typeName Stream = "stream"
typeName (GeneralSocketType n) = "type-" ++ show n

-- | A protocol is a plain number, as in /etc/protocols: 6 is TCP.
protocolName :: ProtocolNumber -> String
protocolName 6 = "tcp"
protocolName n = "proto-" ++ show n

-- | The address without its port.  A SockAddr is the Haskell side of C's
-- struct sockaddr: SockAddrInet is a sockaddr_in (port, 4-byte address),
-- SockAddrInet6 a sockaddr_in6 (port, flow label, 16-byte address, scope:
-- the interface, for link-local addresses).  In the kernel's structures the
-- port and address are in network byte order, most significant byte first,
-- as they travel in packet headers.  The network package converts the
-- PortNumber for us (C would need ntohs), but keeps a HostAddress as the raw
-- bytes read into a Word32: on a little-endian CPU 127.0.0.1 is 0x0100007f.
-- hostAddressToTuple undoes that and gives the four bytes as written.
showHost :: SockAddr -> IO String
showHost (SockAddrInet _ host) = do
  let (a, b, c, d) = hostAddressToTuple host
  return (intercalate "." (map show [a, b, c, d]))
-- getNameInfo with NI_NUMERICHOST is getnameinfo(3) without asking DNS for a
-- name: it writes IPv6 in the short form of RFC 5952 ("::1").  It would add a
-- "%eth0" for a link-local address, so we pass it a scope of 0.
showHost (SockAddrInet6 _ _ host _) = do
  (name, _) <- getNameInfo [NI_NUMERICHOST] True False (SockAddrInet6 0 0 host 0)
  return (fromMaybe "?" name)
showHost _ = return "?"
-- ANCHOR_END: print

-- | One line on stderr, exit 1: the error rule for a failure at run time.
failWith :: String -> IO a
failWith msg = do
  hPutStrLn stderr ("lookup: " ++ msg)
  exitWith (ExitFailure 1)

-- | The command line: --host H (default localhost).
parseArgs :: [String] -> IO HostName
parseArgs = go "localhost"
  where
    go h [] = return h
    go _ ("--help" : _) = putStrLn usage >> exitWith ExitSuccess
    go _ ("--host" : h : rest) = go h rest
    go _ ["--host"] = badUsage "missing value for --host"
    go _ (arg@('-' : _) : _) = badUsage ("unknown option: " ++ arg)
    go _ (arg : _) = badUsage ("unexpected argument: " ++ arg)
    badUsage msg = do
      hPutStrLn stderr ("lookup: " ++ msg)
      hPutStrLn stderr usage
      exitWith (ExitFailure 2)
