//! The snarkjs `.ptau` phase-1 file (reader) and an insecure local generator.
