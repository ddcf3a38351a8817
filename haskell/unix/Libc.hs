-- Libc.hs -- the C library calls the network package lacks, bound with Haskell's foreign function interface
{-# LANGUAGE CApiFFI #-}

-- The Haskell examples of chapters 4 and 5 import this module (it is in
-- haskell/unix/; haskell/Makefile puts that folder on every program's module
-- path).  network 3.1.2.7 is C with types almost everywhere, but not quite:
--
--   * its getSocketName, recvFrom and recvMsg read a Unix-domain address's
--     sun_path as a C string, so an abstract name (a NUL, then the name)
--     comes back empty; and recvFrom and recvMsg cannot receive from an
--     unnamed sender at all (the kernel writes no address, network fails to
--     decode the empty one, falls back on getpeername and throws ENOTCONN,
--     with the datagram already consumed);
--   * its sendTo has no flags argument, so no MSG_DONTWAIT.
--
-- So here are getsockname(2), recvfrom(2) and sendto(2) themselves, and the
-- constants the examples need, read from the C headers by CApiFFI.  A
-- `foreign import` names the C function and gives it a Haskell type: CInt for
-- int, CSize for size_t, CSsize for ssize_t, CUInt for socklen_t, Ptr for a
-- pointer.  The calls are `unsafe` (quicker, but they must not block): every
-- socket network makes is non-blocking, so a call that would wait fails with
-- EAGAIN instead, and we wait in GHC's I/O manager (threadWaitRead), where a
-- signal's exception can interrupt us.
--
-- Addresses travel as the bytes of a struct sockaddr_un, as the kernel wrote
-- them, cut to the length it reported: sun_family's 2 bytes, then sun_path.
module Libc
  ( socketName,
    receiveFrom,
    sendToNow,
    sunPath,
    isAgain,
    ipprotoIcmp,
  )
where

import Control.Concurrent (threadWaitRead)
import qualified Data.ByteString as BS
import Data.Word (Word8)
import Foreign.C.Error (Errno (..), eAGAIN, eWOULDBLOCK, throwErrnoIfMinus1RetryMayBlock, throwErrnoIfMinus1Retry_, throwErrnoIfMinus1_)
import Foreign.C.Types (CInt (..), CSize (..), CUInt (..))
import Foreign.Marshal.Alloc (alloca, allocaBytes)
import Foreign.Ptr (Ptr, castPtr)
import Foreign.Storable (peek, poke)
import GHC.IO.Exception (IOException, ioe_errno)
import Network.Socket (ProtocolNumber, Socket, withFdSocket)
import System.Posix.Types (CSsize (..), Fd (..))

foreign import ccall unsafe "getsockname"
  c_getsockname :: CInt -> Ptr Word8 -> Ptr CUInt -> IO CInt

foreign import ccall unsafe "recvfrom"
  c_recvfrom :: CInt -> Ptr Word8 -> CSize -> CInt -> Ptr Word8 -> Ptr CUInt -> IO CSsize

foreign import ccall unsafe "sendto"
  c_sendto :: CInt -> Ptr Word8 -> CSize -> CInt -> Ptr Word8 -> CUInt -> IO CSsize

foreign import capi "sys/socket.h value MSG_TRUNC" msgTrunc :: CInt

foreign import capi "sys/socket.h value MSG_DONTWAIT" msgDontWait :: CInt

-- | IPPROTO_ICMP (1), for socket(AF_INET, SOCK_RAW, IPPROTO_ICMP).
foreign import capi "netinet/in.h value IPPROTO_ICMP" ipprotoIcmp :: ProtocolNumber

-- | sizeof(struct sockaddr_un) on Linux: sun_family's 2 bytes and sun_path's 108.
sockaddrUnSize :: Int
sockaddrUnSize = 110

-- | getsockname(2) on a Unix-domain socket: the sun_path bytes of the
-- address it is bound to (see sunPath).  A failure is an IOException with
-- strerror's text, like every error network throws.
socketName :: Socket -> IO BS.ByteString
socketName sock =
  withFdSocket sock $ \fd ->
    allocaBytes sockaddrUnSize $ \sa ->
      alloca $ \saLen -> do
        poke saLen (fromIntegral sockaddrUnSize) -- in: the room; out: the length
        throwErrnoIfMinus1_ "getsockname" (c_getsockname fd sa saLen)
        len <- fromIntegral <$> peek saLen
        sunPath <$> BS.packCStringLen (castPtr sa, min len sockaddrUnSize)

-- | recvfrom(2) with MSG_TRUNC, into a buffer of `room` bytes: the datagram
-- (what fit), its real size (more than `room` if it did not fit: that is
-- what MSG_TRUNC makes recvfrom return), and the sender's address.  While
-- nothing is queued, recvfrom fails with EAGAIN and
-- throwErrnoIfMinus1RetryMayBlock waits with threadWaitRead, then calls it
-- again; it also retries on EINTR.
receiveFrom :: Socket -> Int -> IO (BS.ByteString, Int, BS.ByteString)
receiveFrom sock room =
  withFdSocket sock $ \fd ->
    allocaBytes room $ \buf ->
      allocaBytes sockaddrUnSize $ \sa ->
        alloca $ \saLen -> do
          n <-
            throwErrnoIfMinus1RetryMayBlock
              "recvfrom"
              ( do
                  poke saLen (fromIntegral sockaddrUnSize)
                  c_recvfrom fd buf (fromIntegral room) msgTrunc sa saLen
              )
              (threadWaitRead (Fd fd))
          let size = fromIntegral n
          datagram <- BS.packCStringLen (castPtr buf, min size room)
          len <- fromIntegral <$> peek saLen
          peer <- BS.packCStringLen (castPtr sa, min len sockaddrUnSize)
          return (datagram, size, peer)

-- | sendto(2) with MSG_DONTWAIT, to an address as receiveFrom returned it
-- (so an abstract name goes back with exactly its length).  A full queue is
-- EAGAIN at once (see isAgain), never a wait.
sendToNow :: Socket -> BS.ByteString -> BS.ByteString -> IO ()
sendToNow sock datagram peer =
  withFdSocket sock $ \fd ->
    BS.useAsCStringLen datagram $ \(buf, size) ->
      BS.useAsCStringLen peer $ \(sa, saLen) ->
        throwErrnoIfMinus1Retry_ "sendto" $
          c_sendto fd (castPtr buf) (fromIntegral size) msgDontWait (castPtr sa) (fromIntegral saLen)

-- | The sun_path bytes of an address: what follows sun_family's 2 bytes.
-- Empty for an unnamed socket; for an abstract name a NUL and the name,
-- every byte the length counts; for a file the path, without its NUL.
sunPath :: BS.ByteString -> BS.ByteString
sunPath addr = case BS.uncons raw of
  Just (0, _) -> raw
  _ -> BS.takeWhile (/= 0) raw
  where
    raw = BS.drop 2 addr

-- | Did this call fail because it would have had to wait (EAGAIN)?
isAgain :: IOException -> Bool
isAgain e = ioe_errno e `elem` map (\(Errno n) -> Just n) [eAGAIN, eWOULDBLOCK]
