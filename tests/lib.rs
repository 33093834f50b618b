//! Cross-crate integration tests live in `tests/tests/*.rs`. This library holds one thing: the
//! root README, compiled as doctests (with this package's dev-dependencies), so that every Rust
//! block in it builds against the crates as they are.

/// The root README's Rust blocks.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct RootReadme;
