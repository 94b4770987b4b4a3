"""serial://: a reliable multiplexed link on a UART (sans-IO) and its driver."""
