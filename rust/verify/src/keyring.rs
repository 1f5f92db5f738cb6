//! The key ring: keys by `kid`, several per ring for rotation, each `kid` once.

use std::collections::HashMap;

use crate::errors::VerifyError;
use crate::keys::Key;

/// Keys by `kid` (several per ring for rotation); a `kid` appears once.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: Vec<Key>,
    by_kid: HashMap<String, usize>,
}

impl KeyRing {
    /// A ring of `keys`; a duplicate `kid` is refused (see [`KeyRing::push`]).
    pub fn new(keys: Vec<Key>) -> Result<KeyRing, VerifyError> {
        let mut ring = KeyRing::default();
        for key in keys {
            ring.push(key)?;
        }
        Ok(ring)
    }

    /// Add `key`; a `kid` already in the ring is refused (`duplicate kid "<kid>" in the key
    /// ring`, the kid written as a JSON string).
    pub fn push(&mut self, key: Key) -> Result<(), VerifyError> {
        if self.by_kid.contains_key(key.kid()) {
            let mut quoted = Vec::new();
            fastpath_codec::encode::write_str(&mut quoted, key.kid());
            return Err(VerifyError::invalid_key(format!(
                "duplicate kid {} in the key ring",
                String::from_utf8(quoted).expect("JSON text is UTF-8")
            )));
        }
        self.by_kid.insert(key.kid().to_owned(), self.keys.len());
        self.keys.push(key);
        Ok(())
    }

    /// The key with this `kid`.
    pub fn get(&self, kid: &str) -> Option<&Key> {
        self.by_kid.get(kid).map(|&i| &self.keys[i])
    }

    /// The position of the key with this `kid` in [`KeyRing::keys`].
    pub fn position(&self, kid: &str) -> Option<usize> {
        self.by_kid.get(kid).copied()
    }

    /// All keys, in the order given.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyType;

    #[test]
    fn ring_lookup_and_duplicates() {
        let a = Key::hmac("a", &[1u8; 32]).unwrap();
        let b = Key::ed25519_private("b", &[2u8; 32]).unwrap();
        let ring = KeyRing::new(vec![a.clone(), b]).unwrap();
        assert_eq!(ring.get("a").unwrap().kid(), "a");
        assert_eq!(ring.get("b").unwrap().key_type(), KeyType::Ed25519);
        assert!(ring.get("c").is_none());
        assert_eq!(ring.len(), 2);
        let err = KeyRing::new(vec![a.clone(), a]).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidKey);
    }
}
