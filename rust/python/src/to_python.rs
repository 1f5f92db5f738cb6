//! The core's `Value` → Python objects (the one converter in that direction), exactly as
//! `orjson.loads` would build them: dict (wire order), list, str, int, float, bool, None.
//!
//! This runs on every request body, so it talks to the stable ABI directly (`PyDict_SetItem`,
//! `PyList_SetItem`, `PyUnicode_FromStringAndSize`) and keeps a cache of key strings, like
//! orjson's: request bodies repeat the same keys (`jsonrpc`, `params`, `_meta`, the
//! `io.modelcontextprotocol/*` keys, tool argument names) request after request, and a cached
//! `str` also carries its hash, so the dict insert skips hashing it.
//!
//! Cached keys are deliberately *not* interned: interning attacker-chosen strings would grow the
//! interpreter's interned table without bound (and makes them immortal on some versions). The
//! cache is fixed-size, so it holds at most `CACHE_SLOTS` small strings.

use std::os::raw::c_char;
use std::ptr;
use std::sync::{Mutex, TryLockError};

use fastpath_codec::json::parse_validated;
use fastpath_codec::Value;
use pyo3::exceptions::PyRuntimeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// Build dict/list/str/int/float/bool/None from `value`; dicts keep wire order.
///
/// Recurses once per nesting level; `Value` trees come from the parser, whose `max_depth` bounds
/// that (dropping a `Value` recurses the same way).
pub fn value_to_py<'py>(py: Python<'py>, value: &Value<'_>) -> PyResult<Bound<'py, PyAny>> {
    // Under the GIL nobody else holds the lock, except a re-entrant call (a finalizer run by a
    // garbage collection during the build): that call simply goes without the cache.
    let mut guard = match KEYS.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::WouldBlock) | Err(TryLockError::Poisoned(_)) => None,
    };
    let mut cache = guard.as_mut().map(|g| g.get_or_insert_with(KeyCache::new));
    // SAFETY: we hold the GIL (`py`); `build` returns a new reference, or NULL with a Python
    // exception set.
    unsafe {
        let obj = build(value, &mut cache);
        Bound::from_owned_ptr_or_err(py, obj)
    }
}

/// JSON that decode already validated (a span of its body) as Python objects.
pub fn validated_to_py<'py>(py: Python<'py>, json: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let value = parse_validated(json)
        .map_err(|e| PyRuntimeError::new_err(format!("a validated body no longer parses: {e}")))?;
    value_to_py(py, &value)
}

/// A `str` equal to `s`, from the same cache as dict keys when it is short: the method, version
/// and tool name of a request repeat request after request. (Not interned: see above.)
pub fn cached_str<'py>(py: Python<'py>, s: &str) -> Bound<'py, PyString> {
    let mut guard = match KEYS.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::WouldBlock) | Err(TryLockError::Poisoned(_)) => None,
    };
    match guard.as_mut() {
        Some(guard) if s.len() <= MAX_CACHED_KEY => {
            let cache = guard.get_or_insert_with(KeyCache::new);
            // SAFETY: the GIL is held; `get` returns a borrowed reference (valid until the next
            // `get`, which cannot happen before the new reference is taken) or NULL with an
            // exception set (then a fresh `str` is made instead).
            unsafe {
                let obj = cache.get(s);
                if !obj.is_null() {
                    return Bound::from_borrowed_ptr(py, obj).cast_into_unchecked();
                }
                ffi::PyErr_Clear();
            }
            PyString::new(py, s)
        }
        _ => PyString::new(py, s),
    }
}

#[inline]
unsafe fn new_str(s: &str) -> *mut ffi::PyObject {
    ffi::PyUnicode_FromStringAndSize(s.as_ptr() as *const c_char, s.len() as ffi::Py_ssize_t)
}

#[inline]
unsafe fn new_ref(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    ffi::Py_INCREF(obj);
    obj
}

unsafe fn build(value: &Value<'_>, cache: &mut Option<&mut KeyCache>) -> *mut ffi::PyObject {
    match value {
        Value::Null => new_ref(ffi::Py_None()),
        Value::Bool(true) => new_ref(ffi::Py_True()),
        Value::Bool(false) => new_ref(ffi::Py_False()),
        Value::Int(i) => ffi::PyLong_FromLongLong(*i),
        Value::UInt(u) => ffi::PyLong_FromUnsignedLongLong(*u),
        Value::Float(f) => ffi::PyFloat_FromDouble(*f),
        Value::Str(s) => new_str(s),
        Value::Array(items) => {
            let list = ffi::PyList_New(items.len() as ffi::Py_ssize_t);
            if list.is_null() {
                return list;
            }
            for (i, item) in items.iter().enumerate() {
                let obj = build(item, cache);
                if obj.is_null() {
                    // The slots not yet filled are NULL, which list deallocation skips.
                    ffi::Py_DECREF(list);
                    return obj;
                }
                // Steals the reference to `obj`.
                ffi::PyList_SetItem(list, i as ffi::Py_ssize_t, obj);
            }
            list
        }
        Value::Object(members) => {
            let dict = ffi::PyDict_New();
            if dict.is_null() {
                return dict;
            }
            for (key, item) in members {
                // The value first: building it may evict a cached key, so the key is taken from
                // the cache only right before the insert.
                let v = build(item, cache);
                if v.is_null() {
                    ffi::Py_DECREF(dict);
                    return v;
                }
                let status = match cache {
                    Some(c) if key.len() <= MAX_CACHED_KEY => {
                        // Borrowed from the cache, which keeps it alive through the insert.
                        let k = c.get(key);
                        if k.is_null() {
                            -1
                        } else {
                            ffi::PyDict_SetItem(dict, k, v)
                        }
                    }
                    _ => {
                        let k = new_str(key);
                        if k.is_null() {
                            -1
                        } else {
                            let status = ffi::PyDict_SetItem(dict, k, v);
                            ffi::Py_DECREF(k);
                            status
                        }
                    }
                };
                ffi::Py_DECREF(v);
                if status != 0 {
                    ffi::Py_DECREF(dict);
                    return ptr::null_mut();
                }
            }
            dict
        }
    }
}

// ---- key cache ------------------------------------------------------------------------------

/// Slots, in sets of two (a key may sit in either slot of its set, so two hot keys that map to
/// one set do not evict each other on every request); a power of two.
const CACHE_SLOTS: usize = 4096;
/// Longer keys are rare and not worth a slot.
const MAX_CACHED_KEY: usize = 64;

#[derive(Clone, Copy)]
struct Slot {
    /// `key_hash` of the key, for a quick miss.
    hash: u64,
    /// An owned reference to a `str` holding the key; NULL when empty.
    obj: *mut ffi::PyObject,
    /// The key's bytes, compared on a hit without asking the `str` for its UTF-8.
    len: usize,
    /// When the slot was last used (the cache's clock): the older slot of a set is replaced.
    used: u64,
    bytes: [u8; MAX_CACHED_KEY],
}

struct KeyCache {
    slots: Box<[Slot]>,
    clock: u64,
}

// SAFETY: the slots' objects are only touched with the GIL held, through the mutex.
unsafe impl Send for KeyCache {}

static KEYS: Mutex<Option<KeyCache>> = Mutex::new(None);

impl KeyCache {
    fn new() -> KeyCache {
        KeyCache {
            slots: vec![
                Slot {
                    hash: 0,
                    obj: ptr::null_mut(),
                    len: 0,
                    used: 0,
                    bytes: [0; MAX_CACHED_KEY],
                };
                CACHE_SLOTS
            ]
            .into_boxed_slice(),
            clock: 0,
        }
    }

    /// A `str` equal to `key`, borrowed from the cache and valid until the next `get`; or NULL
    /// with an exception set.
    #[inline]
    unsafe fn get(&mut self, key: &str) -> *mut ffi::PyObject {
        let hash = key_hash(key.as_bytes());
        let set = hash as usize & (CACHE_SLOTS - 2);
        self.clock += 1;
        for way in set..set + 2 {
            let slot = &mut self.slots[way];
            if slot.hash == hash && !slot.obj.is_null() && slot.bytes[..slot.len] == *key.as_bytes()
            {
                slot.used = self.clock;
                return slot.obj;
            }
        }
        let victim = if self.slots[set].used <= self.slots[set + 1].used {
            set
        } else {
            set + 1
        };
        let slot = &mut self.slots[victim];
        slot.used = self.clock;
        let obj = new_str(key);
        if obj.is_null() {
            return obj;
        }
        // The cache takes over the new reference.
        let old = std::mem::replace(&mut slot.obj, obj);
        slot.hash = hash;
        slot.len = key.len();
        slot.bytes[..key.len()].copy_from_slice(key.as_bytes());
        if !old.is_null() {
            ffi::Py_DECREF(old);
        }
        obj
    }
}

/// A hash of a short key that spreads keys differing anywhere (names like `arg_0001`, `arg_0002`
/// differ only in their last byte) over every set. Not seeded: a collision only costs a miss.
#[inline]
fn key_hash(bytes: &[u8]) -> u64 {
    const K0: u64 = 0x9e37_79b9_7f4a_7c15;
    const K1: u64 = 0xa076_1d64_78bd_642f;
    let fold = |a: u64, b: u64| {
        let r = (a as u128).wrapping_mul(b as u128);
        (r as u64) ^ ((r >> 64) as u64)
    };
    let mut h = (bytes.len() as u64).wrapping_mul(K0);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        h = fold(h ^ u64::from_le_bytes(c.try_into().unwrap()), K1);
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    fold(h ^ u64::from_le_bytes(tail), K0)
}
