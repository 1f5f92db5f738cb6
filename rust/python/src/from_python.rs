//! Python objects → the core's `Value`: the one converter every binding function uses to hand
//! Python data to the cores (schemas and arguments for `check_param_headers`, messages for JCS
//! and signatures). What the caller tolerates is an explicit [`Reading`].
//!
//! JSON types are read the way `json.dumps` and `orjson.dumps` read them: `None`, `bool`, `str`
//! (subclasses too), `int`, `float`, `dict` with `str` keys (wire order), `list` and `tuple`.
//! Anything else is [`Unconvertible`]: the first such thing is reported, and the walk goes on
//! with a placeholder in its place, so that the caller decides what it means and when to say so.

use std::borrow::Cow;

use fastpath_codec::Value;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// What a conversion found that JSON cannot hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unconvertible {
    /// Nesting deeper than [`Reading::max_depth`] (also how a cycle ends).
    TooDeep,
    /// An object of a non-JSON type; its type name.
    NotJson(String),
    /// A `dict` key that is not a `str`; its type name. The member's value is still read (in
    /// document order), under the key U+FFFD.
    KeyNotStr(String),
    /// A `str` that is not valid Unicode (a lone surrogate); it is read with U+FFFD in its place.
    NotUnicode,
    /// An `int` outside `[-2^63, 2^64)`.
    IntBeyond64Bits,
}

/// How one caller reads Python data.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    /// Containers and values nested deeper than this are [`Unconvertible::TooDeep`]: a scalar at
    /// depth `max_depth + 1` is one level too deep (the top-level object is depth 0).
    pub max_depth: usize,
    /// Whether too deep a nesting stops the conversion (else that part becomes the placeholder).
    pub stop_when_too_deep: bool,
    /// What an integer beyond 64 bits becomes: `u64::MAX` (for a reader that refuses anything
    /// beyond ±2^53 itself, with its own reason), else the placeholder and a reported issue.
    pub wide_int_as_max: bool,
}

/// The result of a conversion that did not stop: the value, and the first thing that JSON could
/// not hold, if any (its place in `value` holds a placeholder: an empty array, which no scalar
/// rule ever matches).
#[derive(Debug)]
pub struct Converted {
    pub value: Value<'static>,
    pub issue: Option<Unconvertible>,
}

/// Convert `obj` as `reading` says. `Err` only when [`Reading::stop_when_too_deep`] stopped it.
pub fn to_value(obj: &Bound<'_, PyAny>, reading: &Reading) -> Result<Converted, Unconvertible> {
    let mut walk = Walk {
        reading: *reading,
        issue: None,
    };
    let value = walk.value(obj, 0)?;
    Ok(Converted {
        value,
        issue: walk.issue,
    })
}

struct Walk {
    reading: Reading,
    issue: Option<Unconvertible>,
}

fn placeholder() -> Value<'static> {
    Value::Array(Vec::new())
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".to_owned())
}

impl Walk {
    fn note(&mut self, issue: Unconvertible) -> Value<'static> {
        if self.issue.is_none() {
            self.issue = Some(issue);
        }
        placeholder()
    }

    fn text(&mut self, s: &Bound<'_, PyString>) -> String {
        match s.to_str() {
            Ok(text) => text.to_owned(),
            Err(_) => {
                self.note(Unconvertible::NotUnicode);
                s.to_string_lossy().into_owned()
            }
        }
    }

    fn value(
        &mut self,
        obj: &Bound<'_, PyAny>,
        depth: usize,
    ) -> Result<Value<'static>, Unconvertible> {
        if depth > self.reading.max_depth {
            if self.reading.stop_when_too_deep {
                return Err(Unconvertible::TooDeep);
            }
            return Ok(self.note(Unconvertible::TooDeep));
        }
        if obj.is_none() {
            return Ok(Value::Null);
        }
        if let Ok(b) = obj.cast_exact::<PyBool>() {
            return Ok(Value::Bool(b.is_true()));
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(Value::Str(Cow::Owned(self.text(s))));
        }
        if obj.is_instance_of::<PyInt>() {
            if let Ok(i) = obj.extract::<i64>() {
                return Ok(Value::Int(i));
            }
            if let Ok(u) = obj.extract::<u64>() {
                return Ok(Value::UInt(u));
            }
            if self.reading.wide_int_as_max {
                return Ok(Value::UInt(u64::MAX));
            }
            return Ok(self.note(Unconvertible::IntBeyond64Bits));
        }
        if let Ok(f) = obj.cast::<PyFloat>() {
            return Ok(Value::Float(f.value()));
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            let mut members = Vec::with_capacity(d.len());
            for (k, v) in d.iter() {
                let key = match k.cast::<PyString>() {
                    Ok(key) => Cow::Owned(self.text(key)),
                    Err(_) => {
                        self.note(Unconvertible::KeyNotStr(type_name(&k)));
                        Cow::Borrowed("\u{fffd}")
                    }
                };
                members.push((key, self.value(&v, depth + 1)?));
            }
            return Ok(Value::Object(members));
        }
        if let Ok(l) = obj.cast::<PyList>() {
            return l
                .iter()
                .map(|item| self.value(&item, depth + 1))
                .collect::<Result<_, _>>()
                .map(Value::Array);
        }
        if let Ok(t) = obj.cast::<PyTuple>() {
            return t
                .iter()
                .map(|item| self.value(&item, depth + 1))
                .collect::<Result<_, _>>()
                .map(Value::Array);
        }
        Ok(self.note(Unconvertible::NotJson(type_name(obj))))
    }
}
