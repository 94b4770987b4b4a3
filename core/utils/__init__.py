"""pyzmq's zmq.utils spellings: z85, monitor, jsonapi (each loads on import)."""
