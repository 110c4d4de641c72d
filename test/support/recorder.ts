// Moved to scripts/lib so the benchmark counts calls the same way the tests do.
export * from '../../scripts/lib/recorder';
