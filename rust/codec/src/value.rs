//! The JSON tree the codec decides on. Strings borrow from the body when they hold no escapes.

use std::borrow::Cow;

/// One JSON value. Objects keep member order (the wire order) and never hold a duplicate key:
/// the parser rejects duplicates, because two parsers that disagree on them are a
/// signature-bypass vector.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    /// An integer literal in `i64` range.
    Int(i64),
    /// An integer literal above `i64::MAX` and at most `u64::MAX`.
    UInt(u64),
    /// A literal with a fraction or exponent; always finite.
    Float(f64),
    Str(Cow<'a, str>),
    Array(Vec<Value<'a>>),
    Object(Vec<(Cow<'a, str>, Value<'a>)>),
}

impl<'a> Value<'a> {
    /// The member `key` of an object, or `None` (also for non-objects).
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        match self {
            Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }
}
