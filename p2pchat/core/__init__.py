"""The protocol as pure state machines: no sockets, threads, or I/O."""
