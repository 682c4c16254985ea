//! tessera-strategies
