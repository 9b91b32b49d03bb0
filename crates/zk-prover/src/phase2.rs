//! Phase-2: the keys file, delta contributions and their verification.
