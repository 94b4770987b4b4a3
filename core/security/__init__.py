"""Security mechanisms (NULL, PLAIN, CURVE) and ZAP, driven by the connection."""
