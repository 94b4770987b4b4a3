"""The CPython port: epoll/poll, threads, pynacl, pyserial, cffi fast paths."""
