"""Transports: stream engines for tcp and ipc, inproc pipes, the serial link."""
