//! The core's `Value` → Python objects, exactly as `orjson.loads` would build them: dict (wire
//! order), list, str, int, float, bool, None.
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

use fastpath_codec::Value;
use pyo3::ffi;
use pyo3::prelude::*;

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

/// Direct-mapped slots; a power of two.
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
    bytes: [u8; MAX_CACHED_KEY],
}

struct KeyCache {
    slots: Box<[Slot]>,
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
                    bytes: [0; MAX_CACHED_KEY],
                };
                CACHE_SLOTS
            ]
            .into_boxed_slice(),
        }
    }

    /// A `str` equal to `key`, borrowed from the cache and valid until the next `get`; or NULL
    /// with an exception set.
    #[inline]
    unsafe fn get(&mut self, key: &str) -> *mut ffi::PyObject {
        let hash = key_hash(key.as_bytes());
        let slot = &mut self.slots[hash as usize & (CACHE_SLOTS - 1)];
        if slot.hash == hash && !slot.obj.is_null() && slot.bytes[..slot.len] == *key.as_bytes() {
            return slot.obj;
        }
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

/// A cheap hash of a short key (not seeded: a collision only costs a cache miss).
#[inline]
fn key_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        h = (h ^ u64::from_le_bytes(c.try_into().unwrap())).wrapping_mul(K);
        h ^= h >> 29;
    }
    for &b in chunks.remainder() {
        h = (h ^ b as u64).wrapping_mul(K);
    }
    h ^ (h >> 32)
}
