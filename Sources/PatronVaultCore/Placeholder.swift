// Placeholder until the core's first type lands.
