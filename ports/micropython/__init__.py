"""MicroPython port of edgezmq (select.poll, no threads, viper fast paths)."""
