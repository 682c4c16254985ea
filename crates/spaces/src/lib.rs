//! tessera-spaces
