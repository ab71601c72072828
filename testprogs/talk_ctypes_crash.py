"""talk_ctypes_crash: libcrypto through ctypes, a key used after it was freed: SIGSEGV.

RSAKey wraps OpenSSL's RSA_generate_key / RSA_size / RSA_private_encrypt with ctypes and
proper argtypes. The program signs a message, closes the key (RSA_free, and the pointer is
set to None), then signs again: ctypes passes NULL for None, RSA_size dereferences it, and
the process dies with SIGSEGV. The ready file is written just before the fatal call, with
the Python stack as it is at the crash.

A diagnosis of the core should find: crash, SIGSEGV, a fault address near 0, the faulting
native function in libcrypto (RSA_size), and the Python frame that made the call,
RSAKey.private_encrypt at the `BLOCK:crash` line.
"""

import ctypes
import ctypes.util
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import _harness  # noqa: E402

RSA_PKCS1_PADDING = 1

libcrypto = ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")
libcrypto.RSA_generate_key.argtypes = [ctypes.c_int, ctypes.c_ulong,
                                       ctypes.c_void_p, ctypes.c_void_p]
libcrypto.RSA_generate_key.restype = ctypes.c_void_p
libcrypto.RSA_size.argtypes = [ctypes.c_void_p]
libcrypto.RSA_size.restype = ctypes.c_int
libcrypto.RSA_private_encrypt.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p,
                                          ctypes.c_void_p, ctypes.c_int]
libcrypto.RSA_private_encrypt.restype = ctypes.c_int
libcrypto.RSA_free.argtypes = [ctypes.c_void_p]
libcrypto.RSA_free.restype = None


class RSAKey:
    def __init__(self, bits):
        self.ptr = libcrypto.RSA_generate_key(bits, 65537, None, None)

    def private_encrypt(self, data):
        out = ctypes.create_string_buffer(libcrypto.RSA_size(self.ptr))  # BLOCK:crash
        n = libcrypto.RSA_private_encrypt(len(data), data, out, self.ptr, RSA_PKCS1_PADDING)
        return out.raw[:n]

    def close(self):
        libcrypto.RSA_free(self.ptr)
        self.ptr = None


def main():
    h = _harness.Harness(_harness.parser(__doc__).parse_args())
    key = RSAKey(2048)
    print("signature:", key.private_encrypt(b"hello").hex()[:32], "...")
    key.close()
    sys.stdout.flush()
    h.about_to_crash("fatal-call", RSAKey.private_encrypt, "crash", expect={
        "signal": "SIGSEGV",
        "native_function": "RSA_size",
        "library": "libcrypto",
        "fault_address_below": 4096,  # RSA_size reads rsa->n: NULL + a small offset
        "python_qualname": "RSAKey.private_encrypt",
        "python_line": h.line("crash"),
    })
    key.private_encrypt(b"hello again")  # SITE:fatal-call  RSA_size(NULL): SIGSEGV
    print("not reached")


if __name__ == "__main__":
    main()
