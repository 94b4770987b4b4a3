"""ZMTP 3.1 as sans-IO code: greeting, frames, metadata and the connection
state machine. Nothing here touches a socket, a clock or a thread."""
