//! Windows error codes to Node's codes, errnos and messages, as libuv maps them
//! (`uv_translate_sys_error` in libuv's `src/win/error.c`; numbers from `include/uv/errno.h`).

use super::super::ErrnoEntry;
use windows_sys::Win32::Foundation as F;
use windows_sys::Win32::Networking::WinSock as W;

macro_rules! uv_errors {
    ($($name:ident = $errno:expr, $desc:expr;)*) => {
        $(
            #[allow(non_upper_case_globals)]
            const $name: ErrnoEntry = ErrnoEntry { code: stringify!($name), errno: $errno, description: $desc };
        )*
    };
}

// libuv's Windows numbers for its error names (the same on every Windows build of Node).
uv_errors! {
    E2BIG = -4093, "argument list too long";
    EACCES = -4092, "permission denied";
    EADDRINUSE = -4091, "address already in use";
    EADDRNOTAVAIL = -4090, "address not available";
    EAFNOSUPPORT = -4089, "address family not supported";
    EAGAIN = -4088, "resource temporarily unavailable";
    EALREADY = -4084, "connection already in progress";
    EBADF = -4083, "bad file descriptor";
    EBUSY = -4082, "resource busy or locked";
    ECANCELED = -4081, "operation canceled";
    ECHARSET = -4080, "invalid Unicode character";
    ECONNABORTED = -4079, "software caused connection abort";
    ECONNREFUSED = -4078, "connection refused";
    ECONNRESET = -4077, "connection reset by peer";
    EEXIST = -4075, "file already exists";
    EFAULT = -4074, "bad address in system call argument";
    EHOSTUNREACH = -4073, "host is unreachable";
    EINVAL = -4071, "invalid argument";
    EIO = -4070, "i/o error";
    EISCONN = -4069, "socket is already connected";
    EISDIR = -4068, "illegal operation on a directory";
    ELOOP = -4067, "too many symbolic links encountered";
    EMFILE = -4066, "too many open files";
    EMSGSIZE = -4065, "message too long";
    ENAMETOOLONG = -4064, "name too long";
    ENETUNREACH = -4062, "network is unreachable";
    ENOBUFS = -4060, "no buffer space available";
    ENOENT = -4058, "no such file or directory";
    ENOMEM = -4057, "not enough memory";
    ENOSPC = -4055, "no space left on device";
    ENOTCONN = -4053, "socket is not connected";
    ENOTEMPTY = -4051, "directory not empty";
    ENOTSOCK = -4050, "socket operation on non-socket";
    ENOTSUP = -4049, "operation not supported on socket";
    EOF = -4095, "end of file";
    EPERM = -4048, "operation not permitted";
    EPIPE = -4047, "broken pipe";
    EPROTONOSUPPORT = -4045, "protocol not supported";
    EROFS = -4043, "read-only file system";
    ESOCKTNOSUPPORT = -4025, "socket type not supported";
    ETIMEDOUT = -4039, "connection timed out";
    EXDEV = -4037, "cross-device link not permitted";
    UNKNOWN = -4094, "unknown error";
}

/// `uv_translate_sys_error`, row by row.
const TABLE: &[(u32, ErrnoEntry)] = &[
    (F::ERROR_NOACCESS, EACCES),
    (W::WSAEACCES as u32, EACCES),
    (F::ERROR_ELEVATION_REQUIRED, EACCES),
    (F::ERROR_CANT_ACCESS_FILE, EACCES),
    (F::ERROR_ACCESS_DENIED, EACCES),
    (F::ERROR_ADDRESS_ALREADY_ASSOCIATED, EADDRINUSE),
    (W::WSAEADDRINUSE as u32, EADDRINUSE),
    (W::WSAEADDRNOTAVAIL as u32, EADDRNOTAVAIL),
    (W::WSAEAFNOSUPPORT as u32, EAFNOSUPPORT),
    (W::WSAEWOULDBLOCK as u32, EAGAIN),
    (W::WSAEALREADY as u32, EALREADY),
    (F::ERROR_INVALID_FLAGS, EBADF),
    (F::ERROR_INVALID_HANDLE, EBADF),
    (F::ERROR_LOCK_VIOLATION, EBUSY),
    (F::ERROR_PIPE_BUSY, EBUSY),
    (F::ERROR_SHARING_VIOLATION, EBUSY),
    (F::ERROR_OPERATION_ABORTED, ECANCELED),
    (W::WSAEINTR as u32, ECANCELED),
    (F::ERROR_NO_UNICODE_TRANSLATION, ECHARSET),
    (F::ERROR_CONNECTION_ABORTED, ECONNABORTED),
    (W::WSAECONNABORTED as u32, ECONNABORTED),
    (F::ERROR_CONNECTION_REFUSED, ECONNREFUSED),
    (W::WSAECONNREFUSED as u32, ECONNREFUSED),
    (F::ERROR_NETNAME_DELETED, ECONNRESET),
    (W::WSAECONNRESET as u32, ECONNRESET),
    (F::ERROR_ALREADY_EXISTS, EEXIST),
    (F::ERROR_FILE_EXISTS, EEXIST),
    (F::ERROR_BUFFER_OVERFLOW, EFAULT),
    (W::WSAEFAULT as u32, EFAULT),
    (F::ERROR_HOST_UNREACHABLE, EHOSTUNREACH),
    (W::WSAEHOSTUNREACH as u32, EHOSTUNREACH),
    (F::ERROR_INSUFFICIENT_BUFFER, EINVAL),
    (F::ERROR_INVALID_DATA, EINVAL),
    (F::ERROR_INVALID_PARAMETER, EINVAL),
    (F::ERROR_SYMLINK_NOT_SUPPORTED, EINVAL),
    (W::WSAEINVAL as u32, EINVAL),
    (W::WSAEPFNOSUPPORT as u32, EINVAL),
    (F::ERROR_BEGINNING_OF_MEDIA, EIO),
    (F::ERROR_BUS_RESET, EIO),
    (F::ERROR_CRC, EIO),
    (F::ERROR_DEVICE_DOOR_OPEN, EIO),
    (F::ERROR_DEVICE_REQUIRES_CLEANING, EIO),
    (F::ERROR_DISK_CORRUPT, EIO),
    (F::ERROR_EOM_OVERFLOW, EIO),
    (F::ERROR_FILEMARK_DETECTED, EIO),
    (F::ERROR_GEN_FAILURE, EIO),
    (F::ERROR_INVALID_BLOCK_LENGTH, EIO),
    (F::ERROR_IO_DEVICE, EIO),
    (F::ERROR_NO_DATA_DETECTED, EIO),
    (F::ERROR_NO_SIGNAL_SENT, EIO),
    (F::ERROR_OPEN_FAILED, EIO),
    (F::ERROR_SETMARK_DETECTED, EIO),
    (F::ERROR_SIGNAL_REFUSED, EIO),
    (W::WSAEISCONN as u32, EISCONN),
    (F::ERROR_CANT_RESOLVE_FILENAME, ELOOP),
    (F::ERROR_TOO_MANY_OPEN_FILES, EMFILE),
    (W::WSAEMFILE as u32, EMFILE),
    (W::WSAEMSGSIZE as u32, EMSGSIZE),
    (F::ERROR_FILENAME_EXCED_RANGE, ENAMETOOLONG),
    (F::ERROR_NETWORK_UNREACHABLE, ENETUNREACH),
    (W::WSAENETUNREACH as u32, ENETUNREACH),
    (W::WSAENOBUFS as u32, ENOBUFS),
    (F::ERROR_BAD_PATHNAME, ENOENT),
    (F::ERROR_DIRECTORY, ENOENT),
    (F::ERROR_ENVVAR_NOT_FOUND, ENOENT),
    (F::ERROR_FILE_NOT_FOUND, ENOENT),
    (F::ERROR_INVALID_NAME, ENOENT),
    (F::ERROR_INVALID_DRIVE, ENOENT),
    (F::ERROR_INVALID_REPARSE_DATA, ENOENT),
    (F::ERROR_MOD_NOT_FOUND, ENOENT),
    (F::ERROR_PATH_NOT_FOUND, ENOENT),
    (W::WSAHOST_NOT_FOUND as u32, ENOENT),
    (W::WSANO_DATA as u32, ENOENT),
    (F::ERROR_NOT_ENOUGH_MEMORY, ENOMEM),
    (F::ERROR_OUTOFMEMORY, ENOMEM),
    (F::ERROR_CANNOT_MAKE, ENOSPC),
    (F::ERROR_DISK_FULL, ENOSPC),
    (F::ERROR_EA_TABLE_FULL, ENOSPC),
    (F::ERROR_END_OF_MEDIA, ENOSPC),
    (F::ERROR_HANDLE_DISK_FULL, ENOSPC),
    (F::ERROR_NOT_CONNECTED, ENOTCONN),
    (W::WSAENOTCONN as u32, ENOTCONN),
    (F::ERROR_DIR_NOT_EMPTY, ENOTEMPTY),
    (W::WSAENOTSOCK as u32, ENOTSOCK),
    (F::ERROR_NOT_SUPPORTED, ENOTSUP),
    (F::ERROR_BROKEN_PIPE, EOF),
    (F::ERROR_PRIVILEGE_NOT_HELD, EPERM),
    (F::ERROR_BAD_PIPE, EPIPE),
    (F::ERROR_NO_DATA, EPIPE),
    (F::ERROR_PIPE_NOT_CONNECTED, EPIPE),
    (W::WSAESHUTDOWN as u32, EPIPE),
    (W::WSAEPROTONOSUPPORT as u32, EPROTONOSUPPORT),
    (F::ERROR_WRITE_PROTECT, EROFS),
    (F::ERROR_SEM_TIMEOUT, ETIMEDOUT),
    (W::WSAETIMEDOUT as u32, ETIMEDOUT),
    (F::ERROR_NOT_SAME_DEVICE, EXDEV),
    (F::ERROR_INVALID_FUNCTION, EISDIR),
    (F::ERROR_META_EXPANSION_TOO_LONG, E2BIG),
    (W::WSAESOCKTNOSUPPORT as u32, ESOCKTNOSUPPORT),
];

/// Node's code, errno and libuv description for a Windows error code; libuv's `UNKNOWN` for the rest.
pub(crate) fn errno_entry(raw: i32) -> Option<ErrnoEntry> {
    if raw <= 0 {
        return None;
    }
    let found = TABLE.iter().find(|(code, _)| *code == raw as u32);
    Some(found.map(|(_, entry)| *entry).unwrap_or(UNKNOWN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_as_libuv_does() {
        let entry = |raw: u32| {
            let e = errno_entry(raw as i32).expect("mapped");
            (e.code, e.errno, e.description)
        };
        assert_eq!(
            entry(W::WSAECONNREFUSED as u32),
            ("ECONNREFUSED", -4078, "connection refused")
        );
        assert_eq!(
            entry(F::ERROR_FILE_NOT_FOUND),
            ("ENOENT", -4058, "no such file or directory")
        );
        assert_eq!(entry(F::ERROR_NO_DATA), ("EPIPE", -4047, "broken pipe"));
        assert_eq!(entry(F::ERROR_BROKEN_PIPE), ("EOF", -4095, "end of file"));
        assert_eq!(
            entry(W::WSAEADDRINUSE as u32),
            ("EADDRINUSE", -4091, "address already in use")
        );
        assert_eq!(entry(123_456), ("UNKNOWN", -4094, "unknown error"));
    }
}
