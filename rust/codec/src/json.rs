//! Strict JSON parser (RFC 8259).
//!
//! Acceptance contract: on any byte input, [`parse`] accepts exactly what `orjson.loads(bytes)`
//! (orjson 3.x) accepts and yields the same values, except for three deliberate extra
//! rejections:
//!
//! * a duplicate key in any object ([`ParseErrorKind::DuplicateKey`]) — orjson silently keeps
//!   the last one, and two parsers that disagree on duplicates are a signature-bypass vector;
//! * nesting deeper than [`ParseLimits::max_depth`] ([`ParseErrorKind::TooDeep`]); orjson's own
//!   limit is 1024 levels, so any `max_depth <= 1024` only ever rejects more;
//! * a string (key or value) whose decoded UTF-8 length exceeds
//!   [`ParseLimits::max_string_bytes`] ([`ParseErrorKind::StringTooLong`]);
//!
//! and one deliberate agreement: an integer literal outside `[i64::MIN, u64::MAX]` is read as the
//! nearest double, as orjson (and JavaScript) read it; only one that overflows to infinity is
//! refused ([`ParseErrorKind::NumberOutOfRange`]).
//!
//! The orjson behaviour matched here: whitespace is exactly space, `\t`, `\n` and `\r`; a UTF-8
//! byte-order mark is rejected; the whole input must be valid UTF-8 (no overlong forms, no
//! encoded surrogates, nothing above U+10FFFF); strings reject raw bytes below 0x20 but allow
//! 0x7F; escapes are the RFC 8259 set, `\uXXXX` with upper or lower case hex, and surrogate
//! escapes only as a high-low pair; numbers follow the RFC grammar (no leading zeros, no `+`,
//! no bare `.`, digits required after `.` and after the exponent); `-0` is the integer 0;
//! a literal with a fraction or exponent is a correctly rounded `f64`, where an overflow to
//! infinity is an error and an underflow gives (signed) zero; `NaN`/`Infinity` are rejected;
//! nothing but whitespace may follow the value; empty or whitespace-only input is an error.
//!
//! The parser is iterative (an explicit stack, no recursion, so any depth is a clean error), makes
//! one pass over the bytes (plain string bytes eight at a time), borrows every string that holds
//! no escape, and allocates each array and object exactly once at its final size; the stacks it
//! collects them on are kept per thread between parses.

use std::borrow::Cow;
use std::fmt;
use std::ptr;
use std::sync::OnceLock;

use crate::value::Value;

/// Limits enforced on top of the JSON grammar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseLimits {
    /// Maximum nesting of arrays and objects; a top-level `[]` is depth 1, a scalar depth 0.
    pub max_depth: usize,
    /// Maximum decoded UTF-8 length, in bytes, of any string (keys included).
    pub max_string_bytes: usize,
}

/// Why a parse failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The input ended inside a value, or held no value at all.
    Eof,
    /// A byte that the grammar does not allow here.
    UnexpectedChar,
    /// A byte sequence in a string that is not UTF-8 (overlong, surrogate, truncated, ...).
    InvalidUtf8,
    /// A raw byte below 0x20 inside a string.
    ControlInString,
    /// A backslash escape that JSON does not define, or a malformed `\u` escape.
    InvalidEscape,
    /// A `\u` escape of a surrogate that is not part of a high-low pair.
    LoneSurrogate,
    /// A malformed number (leading zero, missing digits, ...).
    NumberInvalid,
    /// A number that overflows `f64` (an integer beyond 64 bits is read as a double, like
    /// orjson; only one beyond ±1.8e308 lands here).
    NumberOutOfRange,
    /// Something other than whitespace after the value.
    TrailingData,
    /// The same (decoded) key twice in one object.
    DuplicateKey(String),
    /// Nesting deeper than [`ParseLimits::max_depth`].
    TooDeep,
    /// A string longer than [`ParseLimits::max_string_bytes`] once decoded.
    StringTooLong,
}

/// A parse failure and the byte offset at which it was detected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ParseErrorKind,
    pub offset: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.kind {
            ParseErrorKind::Eof => "unexpected end of input",
            ParseErrorKind::UnexpectedChar => "unexpected character",
            ParseErrorKind::InvalidUtf8 => "invalid UTF-8",
            ParseErrorKind::ControlInString => "unescaped control character in string",
            ParseErrorKind::InvalidEscape => "invalid escape in string",
            ParseErrorKind::LoneSurrogate => "lone surrogate escape in string",
            ParseErrorKind::NumberInvalid => "invalid number",
            ParseErrorKind::NumberOutOfRange => "number out of range",
            ParseErrorKind::TrailingData => "trailing data after JSON value",
            ParseErrorKind::DuplicateKey(key) => {
                return write!(f, "duplicate key {key:?} at byte {}", self.offset);
            }
            ParseErrorKind::TooDeep => "nesting too deep",
            ParseErrorKind::StringTooLong => "string too long",
        };
        write!(f, "{what} at byte {}", self.offset)
    }
}

impl std::error::Error for ParseError {}

/// Parse one JSON document: exactly one value, optionally surrounded by whitespace.
pub fn parse<'a>(input: &'a [u8], limits: &ParseLimits) -> Result<Value<'a>, ParseError> {
    with_stacks(|stacks| {
        let mut parser = Parser::new(input, limits);
        let value = parser.value(0, stacks)?;
        parser.finish(value)
    })
}

/// Parse JSON that [`parse`] or [`parse_outlined`] already accepted (a document, or the span of
/// one of its values): no limits, and no duplicate-key check, which that parse made. Other input
/// still parses safely (an error, or a tree holding the last or first of a duplicate).
pub fn parse_validated(input: &[u8]) -> Result<Value<'_>, ParseError> {
    let limits = ParseLimits {
        max_depth: usize::MAX,
        max_string_bytes: usize::MAX,
    };
    with_stacks(|stacks| {
        let mut parser = Parser::new(input, &limits);
        parser.check_duplicates = false;
        let value = parser.value(0, stacks)?;
        parser.finish(value)
    })
}

/// A byte range of the input: `input[start..end]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// What [`parse_outlined`] outlines: the top-level object's member `inner` (for MCP, `params`),
/// whose own members' values are located in the input, and (when `skip`) only validated, not
/// built, unless named in `build`.
#[derive(Clone, Copy, Debug)]
pub struct Outline<'p> {
    pub inner: &'p str,
    pub build: &'p [Built<'p>],
    pub skip: bool,
}

/// A member of `inner` that a skipping outline builds: all of its value, or (`only`), when that
/// value is an object, just its members named in any of the lists; its other members are
/// validated only and hold `Value::Null`.
#[derive(Clone, Copy, Debug)]
pub struct Built<'p> {
    pub key: &'p str,
    pub only: Option<&'p [&'p [&'p str]]>,
}

impl Built<'_> {
    fn builds(&self, key: &str) -> bool {
        self.only
            .is_none_or(|lists| lists.iter().any(|list| list.contains(&key)))
    }
}

/// A document parsed by [`parse_outlined`].
#[derive(Debug)]
pub struct Document<'a> {
    /// The document's value. Where a member of `inner` was skipped, its value here is
    /// `Value::Null` (a placeholder: read that member through its span).
    pub value: Value<'a>,
    /// Where the value of the top-level member `inner` lies, if the document is an object with
    /// that member.
    pub inner: Option<Span>,
    /// Each member of `inner` (when its value is an object) with where its value lies, in order.
    pub members: Vec<(Cow<'a, str>, Span)>,
}

impl Document<'_> {
    /// Where the value of `inner`'s member `key` lies.
    pub fn member_span(&self, key: &str) -> Option<Span> {
        self.members
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, span)| *span)
    }
}

/// Parse one JSON document like [`parse`] (the same acceptance, the same errors at the same
/// offsets: every byte is validated), and outline it as `outline` says.
pub fn parse_outlined<'a>(
    input: &'a [u8],
    limits: &ParseLimits,
    outline: &Outline<'_>,
) -> Result<Document<'a>, ParseError> {
    with_stacks(|stacks| Parser::new(input, limits).outlined(outline, stacks))
}

/// Run `f` with this thread's scratch stacks (all empty), and keep their memory for the next
/// parse on this thread (unless one body made them huge): it spares a large body the regrowth,
/// and the allocator the page faults.
fn with_stacks<'a, R>(f: impl FnOnce(&mut Stacks<'a>) -> R) -> R {
    // (`try_with`: a parse from a thread-local destructor just goes without.)
    let scratch = SCRATCH
        .try_with(|cell| cell.take())
        .ok()
        .flatten()
        .unwrap_or_default();
    // SAFETY: the `'static` and `'a` forms of each element type differ only in a lifetime, so
    // they have one layout (what `recast` requires); and the stored vectors are empty (they are
    // only stored below, after `clear`), so no value is carried from one lifetime to the other.
    let mut stacks: Stacks<'a> = unsafe { scratch.recast() };
    let result = f(&mut stacks);
    stacks.clear();
    if stacks.capacity() <= MAX_KEPT_SCRATCH {
        // SAFETY: as above: one layout, and every vector is empty again after `clear`, so no
        // value borrowing from this input is kept past the parse as `'static`.
        let scratch: Stacks<'static> = unsafe { stacks.recast() };
        let _ = SCRATCH.try_with(|cell| cell.set(Some(scratch)));
    }
    result
}

/// The parser's working stacks, innermost last: open containers (`frames`), the items of open
/// arrays, the members of open objects, and the keys of open objects being only validated.
#[derive(Default)]
struct Stacks<'a> {
    frames: Vec<Frame>,
    items: Vec<Value<'a>>,
    members: Vec<(Cow<'a, str>, Value<'a>)>,
    keys: Vec<Cow<'a, str>>,
    tables: TablePool,
}

impl<'a> Stacks<'a> {
    fn clear(&mut self) {
        for frame in self.frames.drain(..) {
            self.tables.give(frame.keys);
        }
        self.items.clear();
        self.members.clear();
        self.keys.clear();
    }

    fn capacity(&self) -> usize {
        self.frames
            .capacity()
            .max(self.items.capacity())
            .max(self.members.capacity())
            .max(self.keys.capacity())
    }

    /// The same (empty) stacks for another lifetime.
    ///
    /// # Safety
    /// Every vector must be empty: a value borrowing for `'a` must not outlive `'a` as `'b`.
    unsafe fn recast<'b>(self) -> Stacks<'b> {
        // SAFETY: each pair of element types differs only in the lifetime, so one layout; the
        // vectors are empty (this function's contract), so no value changes lifetime.
        Stacks {
            frames: self.frames,
            items: recast(self.items),
            members: recast(self.members),
            keys: recast(self.keys),
            tables: self.tables,
        }
    }
}

/// Above this many entries (some 450 KiB in all), the scratch stacks are freed rather than kept.
const MAX_KEPT_SCRATCH: usize = 4096;

thread_local! {
    /// Scratch stacks kept per thread between parses; empty whenever stored.
    static SCRATCH: std::cell::Cell<Option<Stacks<'static>>> = const { std::cell::Cell::new(None) };
}

/// Reuse the buffer of an empty vector for a type of the same layout.
///
/// # Safety
/// `A` and `B` must have the same size and alignment (here: types that differ only in
/// lifetimes).
unsafe fn recast<A, B>(v: Vec<A>) -> Vec<B> {
    debug_assert!(v.is_empty());
    debug_assert_eq!(std::mem::size_of::<A>(), std::mem::size_of::<B>());
    debug_assert_eq!(std::mem::align_of::<A>(), std::mem::align_of::<B>());
    let mut v = std::mem::ManuallyDrop::new(v);
    let capacity = v.capacity();
    // SAFETY: the buffer was allocated by a `Vec<A>` of this capacity, which is the allocation
    // a `Vec<B>` of the same capacity expects, since `A` and `B` have one size and alignment
    // (the caller's contract); the length is 0, so no element is read as a `B`; and
    // `ManuallyDrop` keeps the old vector from freeing the buffer the new one now owns.
    Vec::from_raw_parts(v.as_mut_ptr() as *mut B, 0, capacity)
}

// ---------------------------------------------------------------------------------------------

/// Objects with more members than this check duplicates through a hash table.
const LINEAR_DUP_MAX: usize = 12;

/// One open array or object.
struct Frame {
    /// Where this container's items start in the shared scratch stack.
    start: usize,
    is_object: bool,
    /// Duplicate-key index, taken from the pool once an object grows past `LINEAR_DUP_MAX`
    /// members (and given back when it closes).
    keys: Option<KeyTable>,
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    limits: ParseLimits,
    /// Off only for input a checked parse already accepted (`parse_validated`).
    check_duplicates: bool,
}

#[inline]
fn err<T>(kind: ParseErrorKind, offset: usize) -> Result<T, ParseError> {
    Err(ParseError { kind, offset })
}

#[inline(always)]
fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | b'\r' | b'\t')
}

/// `vec.push(make())`, with the value made only once there is room: built after any call that
/// grows the vector, it is written straight into place instead of through a stack copy.
#[inline(always)]
fn push_with<T>(vec: &mut Vec<T>, make: impl FnOnce() -> T) {
    if vec.len() == vec.capacity() {
        vec.reserve(1);
    }
    let len = vec.len();
    // SAFETY: `reserve` above leaves `capacity > len`, so `len` is an in-bounds, unused slot of
    // the buffer; `make` cannot reach `vec` (borrowed mutably here), so the slot is still
    // unused when written; and the length grows only once the item is in place (a panic in
    // `make` leaves the vector as it was).
    unsafe {
        ptr::write(vec.as_mut_ptr().add(len), make());
        vec.set_len(len + 1);
    }
}

/// Move the last `scratch.len() - start` items of `scratch` into a new vector of exactly that
/// capacity.
#[inline]
fn take_tail<T>(scratch: &mut Vec<T>, start: usize) -> Vec<T> {
    let n = scratch.len() - start;
    let mut out = Vec::with_capacity(n);
    // SAFETY: `start <= scratch.len()` (every caller passes the length the stack had when the
    // container opened, and a stack only shrinks back to it here), so the `n` items at `start..`
    // are initialized and in bounds; `out` has room for exactly `n`. They are moved bit for bit
    // and `scratch` forgets them by shrinking its length, so each is owned once; two distinct
    // allocations cannot overlap.
    unsafe {
        ptr::copy_nonoverlapping(scratch.as_ptr().add(start), out.as_mut_ptr(), n);
        scratch.set_len(start);
        out.set_len(n);
    }
    out
}

impl<'a> Parser<'a> {
    fn new(input: &'a [u8], limits: &ParseLimits) -> Self {
        Parser {
            input,
            pos: 0,
            limits: *limits,
            check_duplicates: true,
        }
    }

    #[inline(always)]
    fn skip_ws(&mut self) {
        while let Some(&c) = self.input.get(self.pos) {
            if !is_ws(c) {
                break;
            }
            self.pos += 1;
        }
    }

    /// Skip whitespace and return the next byte without consuming it.
    #[inline(always)]
    fn peek(&mut self) -> Result<u8, ParseError> {
        if let Some(&c) = self.input.get(self.pos) {
            if !is_ws(c) {
                return Ok(c);
            }
            self.pos += 1;
            self.skip_ws();
            if let Some(&c) = self.input.get(self.pos) {
                return Ok(c);
            }
        }
        err(ParseErrorKind::Eof, self.input.len())
    }

    /// The value at `self.pos`, inside `depth` open containers (for the depth limit). The
    /// stacks start empty and end empty; an object's last member holds a placeholder value while
    /// its real value is being parsed.
    fn value(&mut self, depth: usize, stacks: &mut Stacks<'a>) -> Result<Value<'a>, ParseError> {
        let Stacks {
            frames,
            items,
            members,
            tables,
            ..
        } = stacks;
        // Put a finished value where it belongs: the caller (when it is the outermost one), the
        // open object's last member (replacing its `Null` placeholder) or the open array.
        // Writing it straight to its place, rather than through a variable, keeps the hot path
        // free of copies.
        macro_rules! place {
            ($value:expr) => {{
                match frames.last() {
                    None => return Ok($value),
                    Some(frame) if frame.is_object => {
                        if let Some(last) = members.last_mut() {
                            // SAFETY: `last.1` is a live `&mut` slot, so valid and aligned for the
                            // write. `ptr::write` skips dropping what it replaces, which is the
                            // `Null` placeholder pushed with this member's key (the innermost open
                            // container is this object, so the last member is its open one, and a
                            // value is placed once per key): it owns nothing, so nothing leaks.
                            unsafe { ptr::write(&mut last.1, $value) };
                        }
                    }
                    Some(_) => push_with(items, || $value),
                }
            }};
        }

        'value: loop {
            match self.peek()? {
                b'"' => match self.plain_string() {
                    Ok(s) => place!(Value::Str(Cow::Borrowed(s))),
                    Err(i) => {
                        let s = self.string_rest(i)?;
                        place!(Value::Str(s));
                    }
                },
                b'-' | b'0'..=b'9' => {
                    // Match on the small `Number` so that the `Value` is built in its place.
                    match self.parse_number()? {
                        Number::Int(i) => place!(Value::Int(i)),
                        Number::UInt(u) => place!(Value::UInt(u)),
                        Number::Float(f) => place!(Value::Float(f)),
                    }
                }
                b'{' => {
                    if depth + frames.len() >= self.limits.max_depth {
                        return err(ParseErrorKind::TooDeep, self.pos);
                    }
                    self.pos += 1;
                    match self.peek()? {
                        b'}' => {
                            self.pos += 1;
                            place!(Value::Object(Vec::new()));
                        }
                        b'"' => {
                            frames.push(Frame {
                                start: members.len(),
                                is_object: true,
                                keys: None,
                            });
                            match self.plain_string() {
                                Ok(key) => push_with(members, || (Cow::Borrowed(key), Value::Null)),
                                Err(i) => {
                                    let key = self.string_rest(i)?;
                                    push_with(members, || (key, Value::Null));
                                }
                            }
                            self.colon()?;
                            continue 'value;
                        }
                        _ => return err(ParseErrorKind::UnexpectedChar, self.pos),
                    }
                }
                b'[' => {
                    if depth + frames.len() >= self.limits.max_depth {
                        return err(ParseErrorKind::TooDeep, self.pos);
                    }
                    self.pos += 1;
                    if self.peek()? == b']' {
                        self.pos += 1;
                        place!(Value::Array(Vec::new()));
                    } else {
                        frames.push(Frame {
                            start: items.len(),
                            is_object: false,
                            keys: None,
                        });
                        continue 'value;
                    }
                }
                b't' => {
                    self.literal(b"true")?;
                    place!(Value::Bool(true));
                }
                b'f' => {
                    self.literal(b"false")?;
                    place!(Value::Bool(false));
                }
                b'n' => {
                    self.literal(b"null")?;
                    place!(Value::Null);
                }
                _ => return err(ParseErrorKind::UnexpectedChar, self.pos),
            }

            // After a value inside a container: a separator, or the end of the container (which
            // is itself a finished value).
            loop {
                let Some(frame) = frames.last_mut() else {
                    unreachable!("the outermost value returns to the caller");
                };
                if frame.is_object {
                    match self.peek()? {
                        b',' => {
                            self.pos += 1;
                            if self.peek()? != b'"' {
                                return err(ParseErrorKind::UnexpectedChar, self.pos);
                            }
                            let key_at = self.pos;
                            match self.plain_string() {
                                Ok(key) => {
                                    if self.check_duplicates
                                        && is_duplicate(
                                            &members[frame.start..],
                                            &mut frame.keys,
                                            key,
                                            tables,
                                        )
                                    {
                                        return err(
                                            ParseErrorKind::DuplicateKey(key.into()),
                                            key_at,
                                        );
                                    }
                                    push_with(members, || (Cow::Borrowed(key), Value::Null));
                                }
                                Err(i) => {
                                    let key = self.string_rest(i)?;
                                    if self.check_duplicates
                                        && is_duplicate(
                                            &members[frame.start..],
                                            &mut frame.keys,
                                            &key,
                                            tables,
                                        )
                                    {
                                        return err(
                                            ParseErrorKind::DuplicateKey(key.into_owned()),
                                            key_at,
                                        );
                                    }
                                    push_with(members, || (key, Value::Null));
                                }
                            }
                            self.colon()?;
                            continue 'value;
                        }
                        b'}' => {
                            self.pos += 1;
                            let start = frame.start;
                            tables.give(frame.keys.take());
                            frames.pop();
                            let object = take_tail(members, start);
                            place!(Value::Object(object));
                        }
                        _ => return err(ParseErrorKind::UnexpectedChar, self.pos),
                    }
                } else {
                    match self.peek()? {
                        b',' => {
                            self.pos += 1;
                            continue 'value;
                        }
                        b']' => {
                            self.pos += 1;
                            let start = frame.start;
                            frames.pop();
                            let array = take_tail(items, start);
                            place!(Value::Array(array));
                        }
                        _ => return err(ParseErrorKind::UnexpectedChar, self.pos),
                    }
                }
            }
        }
    }

    /// The document's value is complete: only whitespace may follow.
    fn finish<T>(&mut self, value: T) -> Result<T, ParseError> {
        self.skip_ws();
        if self.pos != self.input.len() {
            return err(ParseErrorKind::TrailingData, self.pos);
        }
        Ok(value)
    }

    /// The `:` after a key.
    #[inline(always)]
    fn colon(&mut self) -> Result<(), ParseError> {
        if self.peek()? != b':' {
            return err(ParseErrorKind::UnexpectedChar, self.pos);
        }
        self.pos += 1;
        Ok(())
    }

    fn literal(&mut self, lit: &'static [u8]) -> Result<(), ParseError> {
        let end = self.pos + lit.len();
        if self.input.get(self.pos..end) == Some(lit) {
            self.pos = end;
            return Ok(());
        }
        for (k, &want) in lit.iter().enumerate() {
            match self.input.get(self.pos + k) {
                None => return err(ParseErrorKind::Eof, self.pos + k),
                Some(&c) if c != want => return err(ParseErrorKind::UnexpectedChar, self.pos + k),
                Some(_) => {}
            }
        }
        unreachable!("literal mismatch not found")
    }

    // --- outlining and validating without building ------------------------------------------

    /// The document at `self.pos`, outlined (see [`parse_outlined`]).
    fn outlined(
        &mut self,
        outline: &Outline<'_>,
        stacks: &mut Stacks<'a>,
    ) -> Result<Document<'a>, ParseError> {
        if self.peek()? != b'{' {
            let value = self.value(0, stacks)?;
            return self.finish(Document {
                value,
                inner: None,
                members: Vec::new(),
            });
        }
        let mut inner = None;
        let mut inner_members = Vec::new();
        let top = self.object(0, stacks, |parser, key, stacks| {
            if key.as_ref() != outline.inner {
                return parser.value(1, stacks);
            }
            let start = parser.pos;
            let value = if parser.input[start] == b'{' {
                parser.object(1, stacks, |parser, key, stacks| {
                    let start = parser.pos;
                    let built = outline.build.iter().find(|b| b.key == key.as_ref());
                    let value = match built {
                        _ if !outline.skip => parser.value(2, stacks)?,
                        None => {
                            parser.skip_value(2, stacks)?;
                            Value::Null
                        }
                        Some(built) if built.only.is_some() && parser.input[start] == b'{' => {
                            parser.object(2, stacks, |parser, key, stacks| {
                                if built.builds(key) {
                                    parser.value(3, stacks)
                                } else {
                                    parser.skip_value(3, stacks)?;
                                    Ok(Value::Null)
                                }
                            })?
                        }
                        Some(_) => parser.value(2, stacks)?,
                    };
                    inner_members.push((
                        key.clone(),
                        Span {
                            start,
                            end: parser.pos,
                        },
                    ));
                    Ok(value)
                })?
            } else {
                parser.value(1, stacks)?
            };
            inner = Some(Span {
                start,
                end: parser.pos,
            });
            Ok(value)
        })?;
        self.finish(Document {
            value: top,
            inner,
            members: inner_members,
        })
    }

    /// The object at `self.pos` (which holds `{`) inside `depth` containers, each member's value
    /// read by `member(parser, key, stacks)` with `self.pos` at its first byte. The same checks,
    /// in the same order, as `value` makes.
    fn object(
        &mut self,
        depth: usize,
        stacks: &mut Stacks<'a>,
        mut member: impl FnMut(
            &mut Self,
            &Cow<'a, str>,
            &mut Stacks<'a>,
        ) -> Result<Value<'a>, ParseError>,
    ) -> Result<Value<'a>, ParseError> {
        if depth >= self.limits.max_depth {
            return err(ParseErrorKind::TooDeep, self.pos);
        }
        self.pos += 1;
        let mut members: Vec<(Cow<'a, str>, Value<'a>)> = Vec::new();
        let mut table = None;
        match self.peek()? {
            b'}' => {
                self.pos += 1;
                return Ok(Value::Object(members));
            }
            b'"' => {}
            _ => return err(ParseErrorKind::UnexpectedChar, self.pos),
        }
        loop {
            let key_at = self.pos;
            let key = match self.plain_string() {
                Ok(key) => Cow::Borrowed(key),
                Err(i) => self.string_rest(i)?,
            };
            if is_duplicate(&members, &mut table, &key, &mut stacks.tables) {
                stacks.tables.give(table);
                return err(ParseErrorKind::DuplicateKey(key.into_owned()), key_at);
            }
            self.colon()?;
            self.peek()?;
            let value = member(self, &key, stacks)?;
            members.push((key, value));
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    if self.peek()? != b'"' {
                        return err(ParseErrorKind::UnexpectedChar, self.pos);
                    }
                }
                b'}' => {
                    self.pos += 1;
                    stacks.tables.give(table);
                    return Ok(Value::Object(members));
                }
                _ => return err(ParseErrorKind::UnexpectedChar, self.pos),
            }
        }
    }

    /// Validate the value at `self.pos` inside `depth` containers exactly as `value` would parse
    /// it (the same errors at the same offsets), building nothing but the keys of the open
    /// objects, which duplicate detection needs. The stacks start and end empty.
    fn skip_value(&mut self, depth: usize, stacks: &mut Stacks<'a>) -> Result<(), ParseError> {
        let Stacks {
            frames,
            keys,
            tables,
            ..
        } = stacks;
        'value: loop {
            match self.peek()? {
                b'"' => {
                    if let Err(i) = self.plain_string() {
                        self.skip_string_rest(i)?;
                    }
                }
                b'-' | b'0'..=b'9' => {
                    self.parse_number()?;
                }
                b'{' => {
                    if depth + frames.len() >= self.limits.max_depth {
                        return err(ParseErrorKind::TooDeep, self.pos);
                    }
                    self.pos += 1;
                    match self.peek()? {
                        b'}' => self.pos += 1,
                        b'"' => {
                            frames.push(Frame {
                                start: keys.len(),
                                is_object: true,
                                keys: None,
                            });
                            let key = match self.plain_string() {
                                Ok(key) => Cow::Borrowed(key),
                                Err(i) => self.string_rest(i)?,
                            };
                            keys.push(key);
                            self.colon()?;
                            continue 'value;
                        }
                        _ => return err(ParseErrorKind::UnexpectedChar, self.pos),
                    }
                }
                b'[' => {
                    if depth + frames.len() >= self.limits.max_depth {
                        return err(ParseErrorKind::TooDeep, self.pos);
                    }
                    self.pos += 1;
                    if self.peek()? == b']' {
                        self.pos += 1;
                    } else {
                        frames.push(Frame {
                            start: 0,
                            is_object: false,
                            keys: None,
                        });
                        continue 'value;
                    }
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => return err(ParseErrorKind::UnexpectedChar, self.pos),
            }

            // After a value: a separator, or the end of the container (itself a whole value).
            loop {
                let Some(frame) = frames.last_mut() else {
                    return Ok(());
                };
                match (self.peek()?, frame.is_object) {
                    (b',', true) => {
                        self.pos += 1;
                        if self.peek()? != b'"' {
                            return err(ParseErrorKind::UnexpectedChar, self.pos);
                        }
                        let key_at = self.pos;
                        let key = match self.plain_string() {
                            Ok(key) => Cow::Borrowed(key),
                            Err(i) => self.string_rest(i)?,
                        };
                        if is_duplicate(&keys[frame.start..], &mut frame.keys, &key, tables) {
                            return err(ParseErrorKind::DuplicateKey(key.into_owned()), key_at);
                        }
                        keys.push(key);
                        self.colon()?;
                        continue 'value;
                    }
                    (b',', false) => {
                        self.pos += 1;
                        continue 'value;
                    }
                    (b'}', true) => {
                        self.pos += 1;
                        keys.truncate(frame.start);
                        tables.give(frame.keys.take());
                        frames.pop();
                    }
                    (b']', false) => {
                        self.pos += 1;
                        frames.pop();
                    }
                    _ => return err(ParseErrorKind::UnexpectedChar, self.pos),
                }
            }
        }
    }

    // --- strings ------------------------------------------------------------------------------

    /// The common string at `self.pos` (which holds `"`): ASCII without escapes and within the
    /// length limit. Returns it and moves past it; otherwise stays and returns where the scan
    /// stopped, for `string_rest`. (Two registers, so the hot path never goes through memory.)
    #[inline(always)]
    fn plain_string(&mut self) -> Result<&'a str, usize> {
        let input = self.input;
        let start = self.pos + 1;
        let i = scan_plain(input, start);
        if input.get(i) == Some(&b'"') && i - start <= self.limits.max_string_bytes {
            self.pos = i + 1;
            // SAFETY: `scan_plain` stops at the first byte >= 0x80, so every byte in `start..i`
            // is ASCII, which is valid UTF-8.
            return Ok(unsafe { std::str::from_utf8_unchecked(&input[start..i]) });
        }
        Err(i)
    }

    /// Any string at `self.pos` (which holds `"`), after `plain_string` stopped at `i`.
    #[inline(never)]
    fn string_rest(&mut self, mut i: usize) -> Result<Cow<'a, str>, ParseError> {
        let input = self.input;
        let open = self.pos;
        let start = open + 1;
        loop {
            let Some(&c) = input.get(i) else {
                return err(ParseErrorKind::Eof, input.len());
            };
            match c {
                b'"' => {
                    if i - start > self.limits.max_string_bytes {
                        return err(ParseErrorKind::StringTooLong, open);
                    }
                    self.pos = i + 1;
                    // SAFETY: the loop passes over `start..i` only through `scan_plain` (ASCII
                    // bytes) and `utf8_sequence_end` (a whole, checked UTF-8 sequence, or an
                    // error return), so the bytes are ASCII and complete UTF-8 sequences.
                    let s = unsafe { std::str::from_utf8_unchecked(&input[start..i]) };
                    return Ok(Cow::Borrowed(s));
                }
                b'\\' => return self.parse_string_escaped(open, i),
                0x00..=0x1f => return err(ParseErrorKind::ControlInString, i),
                _ => i = utf8_sequence_end(input, i)?,
            }
            i = scan_plain(input, i);
        }
    }

    /// `string_rest` (and `parse_string_escaped`) for a value nobody keeps: the same checks, the
    /// same errors at the same offsets, the decoded length counted instead of the text built.
    #[inline(never)]
    fn skip_string_rest(&mut self, mut i: usize) -> Result<(), ParseError> {
        let input = self.input;
        let open = self.pos;
        let start = open + 1;
        // Input bytes that escapes spell but the decoded text does not hold.
        let mut saved = 0;
        loop {
            let Some(&c) = input.get(i) else {
                return err(ParseErrorKind::Eof, input.len());
            };
            match c {
                b'"' => {
                    if i - start - saved > self.limits.max_string_bytes {
                        return err(ParseErrorKind::StringTooLong, open);
                    }
                    self.pos = i + 1;
                    return Ok(());
                }
                b'\\' => {
                    let Some(&e) = input.get(i + 1) else {
                        return err(ParseErrorKind::Eof, input.len());
                    };
                    match e {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                            saved += 1;
                            i += 2;
                        }
                        b'u' => {
                            let unit = hex4(input, i + 2)?;
                            let (spelled, decoded) = match unit {
                                0xd800..=0xdbff => {
                                    if input.get(i + 6) != Some(&b'\\')
                                        || input.get(i + 7) != Some(&b'u')
                                    {
                                        return err(ParseErrorKind::LoneSurrogate, i);
                                    }
                                    let low = hex4(input, i + 8)?;
                                    if !(0xdc00..=0xdfff).contains(&low) {
                                        return err(ParseErrorKind::LoneSurrogate, i);
                                    }
                                    (12, 4)
                                }
                                0xdc00..=0xdfff => return err(ParseErrorKind::LoneSurrogate, i),
                                0..=0x7f => (6, 1),
                                0x80..=0x7ff => (6, 2),
                                _ => (6, 3),
                            };
                            saved += spelled - decoded;
                            i += spelled;
                        }
                        _ => return err(ParseErrorKind::InvalidEscape, i),
                    }
                }
                0x00..=0x1f => return err(ParseErrorKind::ControlInString, i),
                _ => i = utf8_sequence_end(input, i)?,
            }
            i = scan_plain(input, i);
        }
    }

    /// The rest of a string that holds escapes; `i` is at the first backslash.
    #[cold]
    fn parse_string_escaped(
        &mut self,
        open: usize,
        mut i: usize,
    ) -> Result<Cow<'a, str>, ParseError> {
        let input = self.input;
        let start = open + 1;
        let mut buf: Vec<u8> = Vec::with_capacity(i - start + 16);
        buf.extend_from_slice(&input[start..i]);
        loop {
            // `input[i]` is a backslash.
            let Some(&e) = input.get(i + 1) else {
                return err(ParseErrorKind::Eof, input.len());
            };
            let simple = match e {
                b'"' => b'"',
                b'\\' => b'\\',
                b'/' => b'/',
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'u' => 0,
                _ => return err(ParseErrorKind::InvalidEscape, i),
            };
            if e != b'u' {
                buf.push(simple);
                i += 2;
            } else {
                let unit = hex4(input, i + 2)?;
                let ch = match unit {
                    0xd800..=0xdbff => {
                        if input.get(i + 6) != Some(&b'\\') || input.get(i + 7) != Some(&b'u') {
                            return err(ParseErrorKind::LoneSurrogate, i);
                        }
                        let low = hex4(input, i + 8)?;
                        if !(0xdc00..=0xdfff).contains(&low) {
                            return err(ParseErrorKind::LoneSurrogate, i);
                        }
                        i += 12;
                        0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
                    }
                    0xdc00..=0xdfff => return err(ParseErrorKind::LoneSurrogate, i),
                    _ => {
                        i += 6;
                        unit
                    }
                };
                let ch = char::from_u32(ch).expect("surrogates excluded above");
                let mut tmp = [0u8; 4];
                buf.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
            }
            // Plain bytes up to the next backslash or the closing quote.
            let run = i;
            loop {
                i = scan_plain(input, i);
                let Some(&c) = input.get(i) else {
                    return err(ParseErrorKind::Eof, input.len());
                };
                match c {
                    b'"' | b'\\' => break,
                    0x00..=0x1f => return err(ParseErrorKind::ControlInString, i),
                    _ => i = utf8_sequence_end(input, i)?,
                }
            }
            buf.extend_from_slice(&input[run..i]);
            if input[i] == b'"' {
                if buf.len() > self.limits.max_string_bytes {
                    return err(ParseErrorKind::StringTooLong, open);
                }
                self.pos = i + 1;
                // SAFETY: `buf` holds the input before the first escape and the runs between
                // escapes, each passed over only by `scan_plain` (ASCII) and `utf8_sequence_end`
                // (whole checked sequences), plus single ASCII bytes and `char::encode_utf8`
                // output: UTF-8 throughout, and every piece ends on a character boundary.
                let s = unsafe { String::from_utf8_unchecked(buf) };
                return Ok(Cow::Owned(s));
            }
        }
    }

    // --- numbers ------------------------------------------------------------------------------

    /// A number at `self.pos` (which holds `-` or a digit).
    #[inline]
    fn parse_number(&mut self) -> Result<Number, ParseError> {
        let input = self.input;
        let start = self.pos;
        let mut i = start;
        let negative = input[i] == b'-';
        if negative {
            i += 1;
        }
        // Significant digits so far, exact while `!overflow`.
        let mut mantissa: u64 = 0;
        let mut overflow = false;
        match input.get(i) {
            None => return err(ParseErrorKind::Eof, i),
            Some(b'0') => {
                i += 1;
                if matches!(input.get(i), Some(b'0'..=b'9')) {
                    return err(ParseErrorKind::NumberInvalid, start);
                }
            }
            Some(b'1'..=b'9') => {
                // Up to 19 digits always fit in a u64.
                let fast_end = (i + 19).min(input.len());
                while i < fast_end {
                    let d = input[i].wrapping_sub(b'0');
                    if d > 9 {
                        break;
                    }
                    mantissa = mantissa * 10 + d as u64;
                    i += 1;
                }
                while let Some(&c) = input.get(i) {
                    let d = c.wrapping_sub(b'0');
                    if d > 9 {
                        break;
                    }
                    if !overflow {
                        match mantissa
                            .checked_mul(10)
                            .and_then(|m| m.checked_add(d as u64))
                        {
                            Some(m) => mantissa = m,
                            None => overflow = true,
                        }
                    }
                    i += 1;
                }
            }
            Some(_) => return err(ParseErrorKind::NumberInvalid, i),
        }

        let mut is_float = false;
        // Number of fraction digits folded into `mantissa`.
        let mut scale: i64 = 0;
        if input.get(i) == Some(&b'.') {
            is_float = true;
            i += 1;
            match input.get(i) {
                None => return err(ParseErrorKind::Eof, i),
                Some(b'0'..=b'9') => {}
                Some(_) => return err(ParseErrorKind::NumberInvalid, i),
            }
            while let Some(&c) = input.get(i) {
                let d = c.wrapping_sub(b'0');
                if d > 9 {
                    break;
                }
                if !overflow {
                    match mantissa
                        .checked_mul(10)
                        .and_then(|m| m.checked_add(d as u64))
                    {
                        Some(m) => {
                            mantissa = m;
                            scale += 1;
                        }
                        None => overflow = true,
                    }
                }
                i += 1;
            }
        }
        let mut exponent: i64 = 0;
        if let Some(b'e' | b'E') = input.get(i) {
            is_float = true;
            i += 1;
            let exp_negative = match input.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            match input.get(i) {
                None => return err(ParseErrorKind::Eof, i),
                Some(b'0'..=b'9') => {}
                Some(_) => return err(ParseErrorKind::NumberInvalid, i),
            }
            while let Some(&c) = input.get(i) {
                let d = c.wrapping_sub(b'0');
                if d > 9 {
                    break;
                }
                if exponent < 1_000_000_000 {
                    exponent = exponent * 10 + d as i64;
                }
                i += 1;
            }
            if exp_negative {
                exponent = -exponent;
            }
        }
        self.pos = i;

        // An integer beyond [i64::MIN, u64::MAX] is read as the nearest double, like orjson
        // (and JavaScript) do: it falls through to the float path below.
        if !is_float && !overflow {
            if !negative && mantissa <= i64::MAX as u64 {
                return Ok(Number::Int(mantissa as i64));
            }
            if !negative {
                return Ok(Number::UInt(mantissa));
            }
            if mantissa <= 1u64 << 63 {
                return Ok(Number::Int((mantissa as i64).wrapping_neg()));
            }
        }

        // Exact fast path: the mantissa and the power of ten are both exact doubles, so one
        // correctly rounded multiplication or division gives the correctly rounded result.
        let e10 = exponent - scale;
        if !overflow && mantissa <= 1u64 << 53 && (-22..=22).contains(&e10) {
            let m = mantissa as f64;
            let f = if e10 < 0 {
                m / POW10[(-e10) as usize]
            } else {
                m * POW10[e10 as usize]
            };
            return Ok(Number::Float(if negative { -f } else { f }));
        }
        // SAFETY: every byte in `start..i` was matched above as `-`, a digit, `.`, `e`/`E` or a
        // sign: ASCII, so valid UTF-8.
        let text = unsafe { std::str::from_utf8_unchecked(&input[start..i]) };
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Number::Float(f)),
            _ => err(ParseErrorKind::NumberOutOfRange, start),
        }
    }
}

/// A parsed number, before it becomes a `Value`.
enum Number {
    Int(i64),
    UInt(u64),
    Float(f64),
}

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

// --- string scanning ---------------------------------------------------------------------------

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether a byte ends a run of plain string bytes: `"`, `\`, a control byte or non-ASCII.
const fn special_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = b < 0x20 || b >= 0x80 || b == b'"' as usize || b == b'\\' as usize;
        b += 1;
    }
    t
}
static SPECIAL: [bool; 256] = special_table();

/// The index of the first byte at or after `i` that is `"`, `\`, below 0x20 or above 0x7F, or
/// `input.len()`: sixteen bytes at a time with SSE2 (part of every x86-64), then eight.
#[cfg(all(target_arch = "x86_64", not(miri)))]
#[inline(always)]
fn scan_plain(input: &[u8], mut i: usize) -> usize {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // SAFETY: SSE2 is in the x86-64 baseline; each load reads `input[i..i + 16]`, which the loop
    // condition keeps in bounds, and `_mm_loadu_si128` has no alignment requirement.
    unsafe {
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        let space = _mm_set1_epi8(0x20);
        while i + 16 <= input.len() {
            let v = _mm_loadu_si128(input.as_ptr().add(i) as *const __m128i);
            // A signed `v < 0x20` holds for the controls 0x00..=0x1f and for every byte >= 0x80.
            let special = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                _mm_cmplt_epi8(v, space),
            );
            let mask = _mm_movemask_epi8(special) as u32;
            if mask != 0 {
                return i + mask.trailing_zeros() as usize;
            }
            i += 16;
        }
    }
    scan_plain_words(input, i)
}

#[cfg(not(all(target_arch = "x86_64", not(miri))))]
#[inline(always)]
fn scan_plain(input: &[u8], i: usize) -> usize {
    scan_plain_words(input, i)
}

/// `scan_plain` eight bytes at a time, in plain integer arithmetic.
#[inline(always)]
fn scan_plain_words(input: &[u8], mut i: usize) -> usize {
    while i + 8 <= input.len() {
        let w = u64::from_le_bytes(input[i..i + 8].try_into().unwrap());
        let quote = w ^ (ONES * b'"' as u64);
        let backslash = w ^ (ONES * b'\\' as u64);
        // The lowest flagged byte of each term is exact (borrows only propagate upwards from a
        // true hit), so the lowest flagged byte of the union is the first special byte.
        let hits = ((quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | w.wrapping_sub(ONES * 0x20)
            | w)
            & HIGHS;
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < input.len() && !SPECIAL[input[i] as usize] {
        i += 1;
    }
    i
}

/// Check the UTF-8 sequence starting at `input[i]` (a byte >= 0x80) and return its end.
#[inline]
fn utf8_sequence_end(input: &[u8], i: usize) -> Result<usize, ParseError> {
    let (len, lo, hi) = match input[i] {
        0xc2..=0xdf => (2, 0x80, 0xbf),
        0xe0 => (3, 0xa0, 0xbf),
        0xe1..=0xec | 0xee..=0xef => (3, 0x80, 0xbf),
        0xed => (3, 0x80, 0x9f),
        0xf0 => (4, 0x90, 0xbf),
        0xf1..=0xf3 => (4, 0x80, 0xbf),
        0xf4 => (4, 0x80, 0x8f),
        _ => return err(ParseErrorKind::InvalidUtf8, i),
    };
    let Some(seq) = input.get(i..i + len) else {
        return err(ParseErrorKind::InvalidUtf8, i);
    };
    if !(lo..=hi).contains(&seq[1]) || seq[2..].iter().any(|&b| b & 0xc0 != 0x80) {
        return err(ParseErrorKind::InvalidUtf8, i);
    }
    Ok(i + len)
}

const fn hex_table() -> [i8; 256] {
    let mut t = [-1i8; 256];
    let mut b = 0u8;
    while b < 10 {
        t[(b'0' + b) as usize] = b as i8;
        b += 1;
    }
    b = 0;
    while b < 6 {
        t[(b'a' + b) as usize] = 10 + b as i8;
        t[(b'A' + b) as usize] = 10 + b as i8;
        b += 1;
    }
    t
}
static HEX: [i8; 256] = hex_table();

/// The four hex digits at `input[at..at + 4]`, for the `\u` escape that starts at `at - 2`.
#[inline]
fn hex4(input: &[u8], at: usize) -> Result<u32, ParseError> {
    let mut v: u32 = 0;
    for k in 0..4 {
        let Some(&c) = input.get(at + k) else {
            return err(ParseErrorKind::Eof, input.len());
        };
        let d = HEX[c as usize];
        if d < 0 {
            return err(ParseErrorKind::InvalidEscape, at - 2);
        }
        v = (v << 4) | d as u32;
    }
    Ok(v)
}

// --- duplicate keys ----------------------------------------------------------------------------

/// An object member, or a bare key, as the duplicate check reads it.
trait Keyed {
    fn key(&self) -> &str;
}

impl Keyed for (Cow<'_, str>, Value<'_>) {
    #[inline(always)]
    fn key(&self) -> &str {
        &self.0
    }
}

impl Keyed for Cow<'_, str> {
    #[inline(always)]
    fn key(&self) -> &str {
        self
    }
}

/// Whether `key` is already among `siblings` (the members parsed so far in one object). Small
/// objects are scanned; large ones get a hash index in `table` (from `pool`), which also records
/// `key` as member number `siblings.len()`.
#[inline]
fn is_duplicate<K: Keyed>(
    siblings: &[K],
    table: &mut Option<KeyTable>,
    key: &str,
    pool: &mut TablePool,
) -> bool {
    if let Some(t) = table {
        return t.find_or_insert(siblings, key);
    }
    if siblings.len() <= LINEAR_DUP_MAX {
        let kb = key.as_bytes();
        return siblings.iter().any(|k| k.key().as_bytes() == kb);
    }
    let t = table.insert(pool.take(siblings));
    t.find_or_insert(siblings, key)
}

/// Key tables kept per thread between objects and parses, so that a large object neither
/// allocates nor zeroes one (see `KeyTable::generation`).
#[derive(Default)]
struct TablePool {
    free: Vec<KeyTable>,
}

/// Tables kept for reuse, and the largest size kept (512 KiB).
const KEPT_TABLES: usize = 4;
const MAX_KEPT_SLOTS: usize = 1 << 16;

impl TablePool {
    /// A table holding `siblings` (distinct keys).
    fn take<K: Keyed>(&mut self, siblings: &[K]) -> KeyTable {
        let mut t = self.free.pop().unwrap_or_else(KeyTable::empty);
        t.reset(siblings);
        t
    }

    fn give(&mut self, table: Option<KeyTable>) {
        if let Some(t) = table {
            if self.free.len() < KEPT_TABLES && t.slots.len() <= MAX_KEPT_SLOTS {
                self.free.push(t);
            }
        }
    }
}

/// Open-addressing set of member indices, keyed by a per-process seeded hash of the key. A slot
/// is `generation << 56 | tag << 32 | (index + 1)`, where `tag` is the top 24 bits of the hash and
/// also picks the home slot, so that growing the table never rehashes a key. A slot is empty
/// unless it holds the table's current generation: reusing a table for the next object only
/// moves to the next generation, and the table is zeroed once every 255 uses.
struct KeyTable {
    slots: Vec<u64>,
    len: usize,
    generation: u64,
    /// The process's hash seeds, read once per table.
    seeds: (u64, u64),
}

const GENERATION_SHIFT: u32 = 56;
const TAG_BITS: u64 = 0x00ff_ffff_0000_0000;

impl KeyTable {
    fn empty() -> KeyTable {
        KeyTable {
            slots: Vec::new(),
            len: 0,
            generation: 0,
            seeds: seeds(),
        }
    }

    /// Start over for a new object holding `siblings`.
    fn reset<K: Keyed>(&mut self, siblings: &[K]) {
        self.generation += 1;
        if self.generation > 0xff {
            self.slots.fill(0);
            self.generation = 1;
        }
        self.len = 0;
        let wanted = (siblings.len() * 4).next_power_of_two().max(64);
        if self.slots.len() < wanted {
            // Zeroed slots are empty in every generation from 1 on.
            self.slots = vec![0; wanted];
        }
        for (index, k) in siblings.iter().enumerate() {
            // Siblings are distinct: each was checked on the way in.
            self.place(self.tag_of(k.key()) | (index as u64 + 1));
        }
    }

    #[inline(always)]
    fn is_live(&self, slot: u64) -> bool {
        slot >> GENERATION_SHIFT == self.generation
    }

    /// Put `entry` (a tag and an index) in its first free slot.
    #[inline]
    fn place(&mut self, entry: u64) {
        let mask = self.slots.len() - 1;
        let mut s = (entry >> 32) as usize & mask;
        while self.is_live(self.slots[s]) {
            s = (s + 1) & mask;
        }
        self.slots[s] = (self.generation << GENERATION_SHIFT) | entry;
        self.len += 1;
    }

    fn grow(&mut self) {
        // Four times larger: a large object grows the table fewer times.
        let larger = vec![0; self.slots.len() * 4];
        let old = std::mem::replace(&mut self.slots, larger);
        let generation = self.generation;
        self.generation = 1;
        self.len = 0;
        for slot in old {
            if slot >> GENERATION_SHIFT == generation {
                self.place(slot & !(0xff << GENERATION_SHIFT));
            }
        }
    }

    /// The tag bits of a key's slot: the top 24 bits of its hash.
    #[inline(always)]
    fn tag_of(&self, key: &str) -> u64 {
        (hash_key(key.as_bytes(), self.seeds) >> 8) & TAG_BITS
    }

    /// Whether `key` is among `siblings`; if not, record it as member `siblings.len()`.
    #[inline]
    fn find_or_insert<K: Keyed>(&mut self, siblings: &[K], key: &str) -> bool {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let tag = self.tag_of(key);
        let mask = self.slots.len() - 1;
        let mut s = (tag >> 32) as usize & mask;
        loop {
            let slot = self.slots[s];
            if !self.is_live(slot) {
                self.slots[s] =
                    (self.generation << GENERATION_SHIFT) | tag | (siblings.len() as u64 + 1);
                self.len += 1;
                return false;
            }
            if slot & TAG_BITS == tag {
                let index = (slot & 0xffff_ffff) as usize - 1;
                if siblings[index].key().as_bytes() == key.as_bytes() {
                    return true;
                }
            }
            s = (s + 1) & mask;
        }
    }
}

#[inline(always)]
fn fold_mul(a: u64, b: u64) -> u64 {
    let r = (a as u128).wrapping_mul(b as u128);
    (r as u64) ^ ((r >> 64) as u64)
}

/// Per-process random seeds, so that colliding keys cannot be precomputed.
fn seeds() -> (u64, u64) {
    static SEEDS: OnceLock<(u64, u64)> = OnceLock::new();
    *SEEDS.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let state = std::collections::hash_map::RandomState::new();
        let mut a = state.build_hasher();
        a.write_u64(0x243f_6a88_85a3_08d3);
        let mut b = state.build_hasher();
        b.write_u64(0x1319_8a2e_0370_7344);
        (a.finish(), b.finish() | 1)
    })
}

#[inline(always)]
fn read_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

#[inline(always)]
fn read_u32(b: &[u8], at: usize) -> u64 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as u64
}

/// A seeded folded-multiply hash. Keys are compared in full on a tag match, so the hash only
/// has to spread keys well and be unpredictable without the seeds.
#[inline(always)]
fn hash_key(bytes: &[u8], (s0, s1): (u64, u64)) -> u64 {
    const K0: u64 = 0x9e37_79b9_7f4a_7c15;
    const K1: u64 = 0xa076_1d64_78bd_642f;
    let n = bytes.len();
    // Up to 16 bytes (most keys): two (possibly overlapping) words that, with the length,
    // determine the key, mixed by one folded multiply of seeded halves (as foldhash does).
    if n <= 16 {
        let (lo, hi) = if n >= 8 {
            (read_u64(bytes, 0), read_u64(bytes, n - 8))
        } else if n >= 4 {
            (read_u32(bytes, 0), read_u32(bytes, n - 4))
        } else if n > 0 {
            let packed =
                bytes[0] as u64 | ((bytes[n / 2] as u64) << 8) | ((bytes[n - 1] as u64) << 16);
            (packed, 0)
        } else {
            (0, 0)
        };
        return fold_mul(lo ^ s0, hi ^ s1.wrapping_add(n as u64).wrapping_mul(K1));
    }
    let mut h = s0 ^ (n as u64).wrapping_mul(K0);
    // Whole words, then the last (possibly overlapping) word.
    let last = if n >= 8 {
        let mut at = 0;
        while at + 8 < n {
            h = fold_mul(h ^ read_u64(bytes, at), s1);
            at += 8;
        }
        read_u64(bytes, n - 8)
    } else if n >= 4 {
        read_u32(bytes, 0) | (read_u32(bytes, n - 4) << 32)
    } else if n > 0 {
        bytes[0] as u64 | ((bytes[n / 2] as u64) << 8) | ((bytes[n - 1] as u64) << 16)
    } else {
        0
    };
    h = fold_mul(h ^ last, s1 ^ K1);
    fold_mul(h, K0 ^ s1)
}

// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ParseLimits = ParseLimits {
        max_depth: 64,
        max_string_bytes: 1 << 20,
    };

    fn ok(input: &[u8]) -> Value<'_> {
        match parse(input, &LIMITS) {
            Ok(v) => v,
            Err(e) => panic!("{:?} rejected: {e}", String::from_utf8_lossy(input)),
        }
    }

    fn kind(input: &[u8]) -> ParseErrorKind {
        match parse(input, &LIMITS) {
            Ok(v) => panic!("{:?} accepted as {v:?}", String::from_utf8_lossy(input)),
            Err(e) => e.kind,
        }
    }

    fn s(text: &str) -> Value<'_> {
        Value::Str(Cow::Borrowed(text))
    }

    fn nested(n: usize) -> Vec<u8> {
        let mut v = vec![b'['; n];
        v.extend(std::iter::repeat_n(b']', n));
        v
    }

    #[test]
    fn scalars_and_literals() {
        assert_eq!(ok(b"true"), Value::Bool(true));
        assert_eq!(ok(b"false"), Value::Bool(false));
        assert_eq!(ok(b"null"), Value::Null);
        assert_eq!(ok(b" \t\r\n null \t\r\n"), Value::Null);
        assert_eq!(kind(b"tru"), ParseErrorKind::Eof);
        assert_eq!(kind(b"nul"), ParseErrorKind::Eof);
        assert_eq!(kind(b"[tru]"), ParseErrorKind::UnexpectedChar);
        assert_eq!(kind(b"falsE"), ParseErrorKind::UnexpectedChar);
        assert_eq!(kind(b"truex"), ParseErrorKind::TrailingData);
        assert_eq!(kind(b"NaN"), ParseErrorKind::UnexpectedChar);
        assert_eq!(kind(b"nan"), ParseErrorKind::UnexpectedChar);
        assert_eq!(kind(b"Infinity"), ParseErrorKind::UnexpectedChar);
        assert_eq!(kind(b"-Infinity"), ParseErrorKind::NumberInvalid);
    }

    #[test]
    fn whitespace_bom_empty_trailing() {
        assert_eq!(kind(b""), ParseErrorKind::Eof);
        assert_eq!(kind(b"  \n"), ParseErrorKind::Eof);
        assert_eq!(kind(b"\x0b1"), ParseErrorKind::UnexpectedChar);
        assert_eq!(kind(b"\x0c1"), ParseErrorKind::UnexpectedChar);
        assert_eq!(kind(b"\xc2\xa01"), ParseErrorKind::UnexpectedChar);
        assert_eq!(kind(b"\xef\xbb\xbf1"), ParseErrorKind::UnexpectedChar);
        assert_eq!(kind(b"[1] x"), ParseErrorKind::TrailingData);
        assert_eq!(kind(b"[1]\x00"), ParseErrorKind::TrailingData);
        assert_eq!(kind(b"1 2"), ParseErrorKind::TrailingData);
        assert_eq!(ok(b"[1]  "), Value::Array(vec![Value::Int(1)]));
        let e = parse(b"[1] x", &LIMITS).unwrap_err();
        assert_eq!(e.offset, 4);
    }

    #[test]
    fn integers() {
        assert_eq!(ok(b"0"), Value::Int(0));
        assert_eq!(ok(b"-0"), Value::Int(0));
        assert_eq!(ok(b"123"), Value::Int(123));
        assert_eq!(ok(b"-9223372036854775808"), Value::Int(i64::MIN));
        assert_eq!(ok(b"9223372036854775807"), Value::Int(i64::MAX));
        assert_eq!(ok(b"9223372036854775808"), Value::UInt(1 << 63));
        assert_eq!(ok(b"18446744073709551615"), Value::UInt(u64::MAX));
        assert_eq!(
            ok(b"18446744073709551616"),
            Value::Float(18446744073709551616.0)
        );
        assert_eq!(
            ok(b"-9223372036854775809"),
            Value::Float(-9223372036854775809.0)
        );
        assert_eq!(
            ok(b"123456789012345678901234567890"),
            Value::Float(1.2345678901234568e29)
        );
        assert_eq!(kind(&[b'9'; 400]), ParseErrorKind::NumberOutOfRange);
        assert_eq!(kind(b"01"), ParseErrorKind::NumberInvalid);
        assert_eq!(kind(b"-01"), ParseErrorKind::NumberInvalid);
        assert_eq!(kind(b"00"), ParseErrorKind::NumberInvalid);
        assert_eq!(kind(b"-"), ParseErrorKind::Eof);
        assert_eq!(kind(b"-a"), ParseErrorKind::NumberInvalid);
        assert_eq!(kind(b"--1"), ParseErrorKind::NumberInvalid);
        assert_eq!(kind(b"+1"), ParseErrorKind::UnexpectedChar);
        assert_eq!(kind(b".5"), ParseErrorKind::UnexpectedChar);
        assert_eq!(kind(b"0x10"), ParseErrorKind::TrailingData);
    }

    #[test]
    fn floats() {
        let f = |t: &[u8]| match ok(t) {
            Value::Float(x) => x,
            v => panic!("{v:?}"),
        };
        assert_eq!(f(b"1E2"), 100.0);
        assert_eq!(f(b"1e+2"), 100.0);
        assert_eq!(f(b"1e05"), 100000.0);
        assert_eq!(f(b"1.0"), 1.0);
        assert_eq!(f(b"0.1"), 0.1);
        assert_eq!(f(b"1e-2"), 0.01);
        assert_eq!(f(b"-0.0").to_bits(), (-0.0f64).to_bits());
        assert_eq!(f(b"-0e0").to_bits(), (-0.0f64).to_bits());
        assert_eq!(f(b"0e99999999999999999999"), 0.0);
        assert_eq!(f(b"1e-400"), 0.0);
        assert_eq!(f(b"-1e-400").to_bits(), (-0.0f64).to_bits());
        assert_eq!(f(b"4.9e-324"), 5e-324);
        assert_eq!(f(b"1.7976931348623157e308"), f64::MAX);
        assert_eq!(f(b"1.7976931348623158e308"), f64::MAX);
        assert_eq!(
            f(b"123456789012345678901234567890.0"),
            1.2345678901234568e29
        );
        assert_eq!(
            f(b"0.1111111111111111111111111111111111"),
            0.1111111111111111
        );
        assert_eq!(f(b"9007199254740993.0"), 9007199254740992.0);
        assert_eq!(f(b"2.2250738585072011e-308"), 2.225073858507201e-308);
        assert_eq!(kind(b"1e400"), ParseErrorKind::NumberOutOfRange);
        assert_eq!(kind(b"-1e400"), ParseErrorKind::NumberOutOfRange);
        assert_eq!(
            kind(b"1.7976931348623159e308"),
            ParseErrorKind::NumberOutOfRange
        );
        assert_eq!(kind(b"1."), ParseErrorKind::Eof);
        assert_eq!(kind(b"1.e5"), ParseErrorKind::NumberInvalid);
        assert_eq!(kind(b"1e"), ParseErrorKind::Eof);
        assert_eq!(kind(b"1e+"), ParseErrorKind::Eof);
        assert_eq!(kind(b"2ea"), ParseErrorKind::NumberInvalid);
        assert_eq!(kind(b"-.5"), ParseErrorKind::NumberInvalid);
        assert_eq!(kind(b"1.5.5"), ParseErrorKind::TrailingData);
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(ok(br#""abc""#), s("abc"));
        assert!(matches!(ok(br#""abc""#), Value::Str(Cow::Borrowed(_))));
        assert_eq!(ok(br#""\/\b\f\n\r\t\"\\""#), s("/\u{8}\u{c}\n\r\t\"\\"));
        assert!(matches!(ok(br#""a\nb""#), Value::Str(Cow::Owned(_))));
        assert_eq!(ok(br#""\u0000""#), s("\0"));
        assert_eq!(ok(br#""\u00e9\u00E9""#), s("éé"));
        assert_eq!(ok(br#""\ud834\udd1e""#), s("𝄞"));
        assert_eq!(ok(br#""\udbff\udfff""#), s("\u{10ffff}"));
        assert_eq!(ok(b"\"\x7f\""), s("\x7f"));
        assert_eq!(
            ok("\"h\u{e9}llo \u{1f600} \\n w\u{f6}rld\"".as_bytes()),
            s("h\u{e9}llo \u{1f600} \n w\u{f6}rld")
        );
        assert_eq!(kind(br#""\x""#), ParseErrorKind::InvalidEscape);
        assert_eq!(kind(br#""\U0041""#), ParseErrorKind::InvalidEscape);
        assert_eq!(kind(br#""\u12G4""#), ParseErrorKind::InvalidEscape);
        assert_eq!(kind(br#""\u004""#), ParseErrorKind::InvalidEscape);
        assert_eq!(kind(br#""\ud800""#), ParseErrorKind::LoneSurrogate);
        assert_eq!(kind(br#""\udc00""#), ParseErrorKind::LoneSurrogate);
        assert_eq!(kind(br#""\ud800\u0041""#), ParseErrorKind::LoneSurrogate);
        assert_eq!(kind(br#""\ud800\ud800""#), ParseErrorKind::LoneSurrogate);
        assert_eq!(kind(br#""\ud800x""#), ParseErrorKind::LoneSurrogate);
        assert_eq!(kind(b"\"\x01\""), ParseErrorKind::ControlInString);
        assert_eq!(kind(b"\"\t\""), ParseErrorKind::ControlInString);
        assert_eq!(kind(b"\"a\\n\n\""), ParseErrorKind::ControlInString);
        assert_eq!(kind(b"\"abc"), ParseErrorKind::Eof);
        assert_eq!(kind(b"\"\\"), ParseErrorKind::Eof);
        assert_eq!(kind(b"\"\\u00"), ParseErrorKind::Eof);
        // Long strings exercise the word-at-a-time scanner, specials at every lane.
        for at in 0..20 {
            let mut text = vec![b'x'; 24];
            text[at] = b'\\';
            text.insert(at + 1, b'n');
            let mut doc = vec![b'"'];
            doc.extend_from_slice(&text);
            doc.push(b'"');
            let mut want = "x".repeat(24);
            want.replace_range(at..at + 1, "\n");
            assert_eq!(ok(&doc), Value::Str(Cow::Owned(want)));
            text[at] = 0x1f;
            let mut doc = vec![b'"'];
            doc.extend_from_slice(&text);
            doc.push(b'"');
            assert_eq!(
                parse(&doc, &LIMITS).unwrap_err(),
                ParseError {
                    kind: ParseErrorKind::ControlInString,
                    offset: at + 1
                }
            );
        }
    }

    #[test]
    fn invalid_utf8() {
        for bad in [
            &b"\"\xff\""[..],
            b"\"\xc0\x80\"",
            b"\"\xc1\xbf\"",
            b"\"\xe0\x80\x80\"",
            b"\"\xed\xa0\x80\"",
            b"\"\xf4\x90\x80\x80\"",
            b"\"\xf5\x80\x80\x80\"",
            b"\"\xf0\x9f\x98\"",
            b"\"\x80\"",
            b"\"abcdefghijk\xff\"",
        ] {
            assert_eq!(kind(bad), ParseErrorKind::InvalidUtf8, "{bad:?}");
        }
        assert_eq!(kind(b"\xff"), ParseErrorKind::UnexpectedChar);
        assert_eq!(kind(b"[1]\xff"), ParseErrorKind::TrailingData);
        assert_eq!(
            ok(b"\"\xed\x9f\xbf\xf4\x8f\xbf\xbf\xc2\x80\""),
            s("\u{d7ff}\u{10ffff}\u{80}")
        );
    }

    #[test]
    fn containers() {
        assert_eq!(ok(b"[]"), Value::Array(vec![]));
        assert_eq!(ok(b"{}"), Value::Object(vec![]));
        assert_eq!(
            ok(b" [ 1 , [ ] , { } ] "),
            Value::Array(vec![
                Value::Int(1),
                Value::Array(vec![]),
                Value::Object(vec![])
            ])
        );
        assert_eq!(
            ok(br#"{"b":1,"a":{"c":[true,null]}}"#),
            Value::Object(vec![
                (Cow::Borrowed("b"), Value::Int(1)),
                (
                    Cow::Borrowed("a"),
                    Value::Object(vec![(
                        Cow::Borrowed("c"),
                        Value::Array(vec![Value::Bool(true), Value::Null])
                    )])
                ),
            ])
        );
        assert_eq!(kind(b"[1,]"), ParseErrorKind::UnexpectedChar);
        assert_eq!(kind(br#"{"a":1,}"#), ParseErrorKind::UnexpectedChar);
        assert_eq!(kind(b"{,}"), ParseErrorKind::UnexpectedChar);
        assert_eq!(kind(b"[,]"), ParseErrorKind::UnexpectedChar);
        assert_eq!(kind(b"{1:2}"), ParseErrorKind::UnexpectedChar);
        assert_eq!(kind(br#"{"a" 1}"#), ParseErrorKind::UnexpectedChar);
        assert_eq!(kind(br#"{"a":1 "b":2}"#), ParseErrorKind::UnexpectedChar);
        assert_eq!(kind(b"[1 2]"), ParseErrorKind::UnexpectedChar);
        assert_eq!(kind(b"[1,,2]"), ParseErrorKind::UnexpectedChar);
        assert_eq!(kind(b"["), ParseErrorKind::Eof);
        assert_eq!(kind(b"[1,2"), ParseErrorKind::Eof);
        assert_eq!(kind(b"{"), ParseErrorKind::Eof);
        assert_eq!(kind(br#"{"a""#), ParseErrorKind::Eof);
        assert_eq!(kind(br#"{"a":"#), ParseErrorKind::Eof);
    }

    #[test]
    fn duplicate_keys() {
        let e = parse(br#"{"a":1, "b":2, "a":3}"#, &LIMITS).unwrap_err();
        assert_eq!(
            e,
            ParseError {
                kind: ParseErrorKind::DuplicateKey("a".into()),
                offset: 15
            }
        );
        assert_eq!(e.to_string(), "duplicate key \"a\" at byte 15");
        // Duplicates are compared after decoding escapes.
        assert_eq!(
            kind(br#"{"a":1,"\u0061":2}"#),
            ParseErrorKind::DuplicateKey("a".into())
        );
        // Only siblings count.
        ok(br#"{"a":{"a":1},"b":{"a":2}}"#);
        assert_eq!(
            kind(br#"[{"x":1},{"y":{"z":1,"z":2}}]"#),
            ParseErrorKind::DuplicateKey("z".into())
        );
        // Large objects use the hash index; check every position of the duplicate. (Under Miri,
        // scripts/miri.sh, the largest would take most of an hour; 40 already uses the index.)
        let sizes: &[usize] = if cfg!(miri) {
            &[5, 13, 14, 40]
        } else {
            &[5, 13, 14, 40, 1500]
        };
        for &n in sizes {
            let keys: Vec<String> = (0..n).map(|i| format!("key{i}")).collect();
            let body = |extra: Option<&str>| {
                let mut parts: Vec<String> = keys
                    .iter()
                    .map(|k| format!("\"{k}\":{{\"{k}\":[1]}}"))
                    .collect();
                if let Some(x) = extra {
                    parts.push(format!("\"{x}\":0"));
                }
                format!("{{{}}}", parts.join(","))
            };
            let doc = body(None);
            match ok(doc.as_bytes()) {
                Value::Object(m) => assert_eq!(m.len(), n),
                v => panic!("{v:?}"),
            }
            for k in [0, n / 2, n - 1] {
                let doc = body(Some(&keys[k]));
                assert_eq!(
                    kind(doc.as_bytes()),
                    ParseErrorKind::DuplicateKey(keys[k].clone())
                );
            }
            assert!(parse(body(Some("fresh")).as_bytes(), &LIMITS).is_ok());
        }
    }

    #[test]
    fn reused_key_tables_forget_the_previous_object() {
        // Key tables are kept between objects and parses: run past the generation wrap-around
        // (every 255 uses) with tables of different sizes open at once.
        let object = |n: usize, prefix: &str, dup: bool| {
            let mut parts: Vec<String> = (0..n).map(|i| format!("\"{prefix}{i}\":{i}")).collect();
            if dup {
                parts.push(format!("\"{prefix}{}\":0", n / 2));
            }
            format!("{{{}}}", parts.join(","))
        };
        for round in 0..600 {
            let n = 14 + round % 40;
            // Two large objects open together (the outer one's table stays live).
            let outer_keys: Vec<String> = (0..n).map(|i| format!("\"o{i}\":0")).collect();
            let doc = format!(
                "{{{},\"inner\":{},\"last\":1}}",
                outer_keys.join(","),
                object(n + 5, "o", false)
            );
            ok(doc.as_bytes());
            let doc = format!(
                "{{{},\"inner\":{},\"o3\":1}}",
                outer_keys.join(","),
                object(n + 5, "o", false)
            );
            assert_eq!(
                kind(doc.as_bytes()),
                ParseErrorKind::DuplicateKey("o3".into())
            );
            assert_eq!(
                kind(object(n, "k", true).as_bytes()),
                ParseErrorKind::DuplicateKey(format!("k{}", n / 2))
            );
            // The same keys in a fresh object are no duplicates of the last one's.
            ok(object(n, "k", false).as_bytes());
            // And the validate-only path agrees.
            let body = format!(
                "{{\"params\":{{\"arguments\":{}}}}}",
                object(n, "k", round % 2 == 0)
            );
            check_outline(body.as_bytes(), &LIMITS);
        }
    }

    #[test]
    fn depth_limit() {
        assert!(parse(&nested(64), &LIMITS).is_ok());
        let e = parse(&nested(65), &LIMITS).unwrap_err();
        assert_eq!(
            e,
            ParseError {
                kind: ParseErrorKind::TooDeep,
                offset: 64
            }
        );
        assert_eq!(kind(&nested(10_000)), ParseErrorKind::TooDeep);
        let unclosed = vec![b'['; 10_000];
        assert_eq!(kind(&unclosed), ParseErrorKind::TooDeep);
        let objects = "{\"a\":".repeat(65) + "1" + &"}".repeat(65);
        assert_eq!(kind(objects.as_bytes()), ParseErrorKind::TooDeep);
        let objects = "{\"a\":".repeat(64) + "1" + &"}".repeat(64);
        ok(objects.as_bytes());
        let zero = ParseLimits {
            max_depth: 0,
            ..LIMITS
        };
        assert!(parse(b"1", &zero).is_ok());
        assert_eq!(
            parse(b"[]", &zero).unwrap_err().kind,
            ParseErrorKind::TooDeep
        );
        // The parser itself does not recurse (dropping the tree does, so keep it moderate).
        let deep = ParseLimits {
            max_depth: usize::MAX,
            ..LIMITS
        };
        assert!(parse(&nested(3_000), &deep).is_ok());
        assert_eq!(kind(&[b'['; 1_000_000]), ParseErrorKind::TooDeep);
    }

    #[test]
    fn string_limit() {
        let tight = ParseLimits {
            max_string_bytes: 3,
            ..LIMITS
        };
        assert!(parse(br#"{"abc":"xyz"}"#, &tight).is_ok());
        assert_eq!(
            parse(br#""abcd""#, &tight).unwrap_err(),
            ParseError {
                kind: ParseErrorKind::StringTooLong,
                offset: 0
            }
        );
        assert_eq!(
            parse(br#"{"abcd":1}"#, &tight).unwrap_err().kind,
            ParseErrorKind::StringTooLong
        );
        // Decoded length counts: six escape bytes make one byte, "é" is two.
        assert!(parse(br#""\u0061\u0062\u0063""#, &tight).is_ok());
        assert_eq!(
            parse(br#""\u00e9\u00e9""#, &tight).unwrap_err().kind,
            ParseErrorKind::StringTooLong
        );
        assert_eq!(
            parse("\"éé\"".as_bytes(), &tight).unwrap_err().kind,
            ParseErrorKind::StringTooLong
        );
    }

    #[test]
    fn scratch_reuse_between_parses() {
        // A failed parse leaves partial items behind in the per-thread scratch stacks; the
        // next parse must not see them.
        for bad in [
            &br#"[1,[2,{"a":"b","c":[true"#[..],
            br#"{"a":{"b":1,"b":2}}"#,
            b"[[[[[[x",
        ] {
            assert!(parse(bad, &LIMITS).is_err());
            assert_eq!(ok(b"[3]"), Value::Array(vec![Value::Int(3)]));
            assert_eq!(
                ok(br#"{"z":[]}"#),
                Value::Object(vec![(Cow::Borrowed("z"), Value::Array(vec![]))])
            );
        }
        // Stacks that grew past the keep limit are dropped, and parsing goes on as before.
        let wide = format!("[{}]", vec!["[0]"; 3 * MAX_KEPT_SCRATCH].join(","));
        match ok(wide.as_bytes()) {
            Value::Array(items) => assert_eq!(items.len(), 3 * MAX_KEPT_SCRATCH),
            v => panic!("{v:?}"),
        }
        assert_eq!(
            ok(b"[[1],2]"),
            Value::Array(vec![Value::Array(vec![Value::Int(1)]), Value::Int(2)])
        );
        // Other threads have their own.
        std::thread::spawn(|| assert_eq!(ok(b"[4]"), Value::Array(vec![Value::Int(4)])))
            .join()
            .unwrap();
    }

    const MCP_OUTLINE: Outline<'static> = Outline {
        inner: "params",
        build: &[
            Built {
                key: "_meta",
                only: Some(&[&["v"], &["t", "u"]]),
            },
            Built {
                key: "name",
                only: None,
            },
        ],
        skip: true,
    };

    /// `parse`'s tree with what `outline` skips set to null.
    fn skipped<'a>(mut value: Value<'a>, outline: &Outline<'_>) -> Value<'a> {
        if !outline.skip {
            return value;
        }
        let Value::Object(top) = &mut value else {
            return value;
        };
        for (key, inner) in top.iter_mut() {
            let (true, Value::Object(members)) = (key == outline.inner, inner) else {
                continue;
            };
            for (k, v) in members.iter_mut() {
                match outline.build.iter().find(|b| b.key == k) {
                    None => *v = Value::Null,
                    Some(built) => {
                        if let Value::Object(deeper) = v {
                            for (k, v) in deeper.iter_mut() {
                                if !built.builds(k) {
                                    *v = Value::Null;
                                }
                            }
                        }
                    }
                }
            }
        }
        value
    }

    /// `parse_outlined` agrees with `parse` on `input`: the same error, or the same tree (with
    /// skipped members as null) and spans that hold exactly the values `parse` built.
    fn check_outline(input: &[u8], limits: &ParseLimits) {
        for outline in [
            MCP_OUTLINE,
            Outline {
                skip: false,
                ..MCP_OUTLINE
            },
        ] {
            let full = parse(input, limits);
            let outlined = parse_outlined(input, limits, &outline);
            match (full, outlined) {
                (Err(a), Err(b)) => assert_eq!(a, b, "{:?}", String::from_utf8_lossy(input)),
                (Ok(full), Ok(doc)) => {
                    let inner = full.get(outline.inner).filter(|_| full.is_object());
                    assert_eq!(doc.inner.is_some(), inner.is_some());
                    if let (Some(span), Some(inner)) = (doc.inner, inner) {
                        let deep = ParseLimits {
                            max_depth: usize::MAX,
                            ..*limits
                        };
                        assert_eq!(&parse(&input[span.start..span.end], &deep).unwrap(), inner);
                        let Value::Object(members) = inner else {
                            assert!(doc.members.is_empty());
                            continue;
                        };
                        assert_eq!(doc.members.len(), members.len());
                        for ((key, span), (k, v)) in doc.members.iter().zip(members) {
                            assert_eq!(key, k);
                            assert_eq!(&parse(&input[span.start..span.end], &deep).unwrap(), v);
                        }
                    }
                    assert_eq!(doc.value, skipped(full, &outline));
                }
                (a, b) => panic!(
                    "{:?}: parse {a:?}, outlined {b:?}",
                    String::from_utf8_lossy(input)
                ),
            }
        }
    }

    #[test]
    fn outlined_parse_agrees_with_parse() {
        let bodies: Vec<Vec<u8>> = vec![
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":[2.5,null,true,"\u00e9"]},"_meta":{"v":"2026-07-28"}}}"#.to_vec(),
            br#"{"params":{"_meta":{"v":"x","caps":{"a":{"b":[1]}},"t":7,"info":{"n":"\u00e9","n":1}}}}"#.to_vec(),
            br#"{"params":{"_meta":{"caps":{"deep":[[[[1]]]]},"u":{"w":[1,2]},"v":[]},"name":{"x":1}}}"#.to_vec(),
            br#"{"params":{"_meta":"not an object","name":["a"]}}"#.to_vec(),
            // Decoded lengths around the tight limit (6 bytes) below, escapes of each width.
            br#"{"params":{"a":"\u00e9\u00e9\u00e9","b":"\u00e9\u00e9\u00e9a"}}"#.to_vec(),
            br#"{"params":{"a":"\ud834\udd1e\u00e9","b":"\u0800\u0800","c":"\u0800\u0800a"}}"#.to_vec(),
            br#"{"params":{"a":"\n\t\"\\\/\b","b":"\n\t\"\\\/\bx","c":"ab\u0041cd"}}"#.to_vec(),
            "{\"params\":{\"a\":\"\u{e9}\\n\u{e9}\",\"b\":\"\u{e9}\u{e9}\u{e9}x\"}}"
                .as_bytes()
                .to_vec(),
            br#" { "params" : { "arguments" : { "k" : { "k" : [ { } , [ ] ] } } , "_meta" : { } } , "id" : "x" } "#.to_vec(),
            br#"{"params":{"a":"\ud834\udd1e","b":-0.0e-5,"c":"x\ny","name":7}}"#.to_vec(),
            br#"{"params":[1,2],"id":null}"#.to_vec(),
            br#"{"params":"text"}"#.to_vec(),
            br#"{"params":{}}"#.to_vec(),
            br#"{}"#.to_vec(),
            br#"[{"params":{"a":1}}]"#.to_vec(),
            br#""params""#.to_vec(),
            br#"{"params":{"arguments":{"a":1,"a":2}}}"#.to_vec(),
            br#"{"params":{"arguments":{"a":1,"\u0061":2}}}"#.to_vec(),
            br#"{"params":{"arguments":1,"arguments":2}}"#.to_vec(),
            br#"{"params":{},"params":{}}"#.to_vec(),
            br#"{"\u0070arams":{"arguments":[1e400]}}"#.to_vec(),
            br#"{"params":{"arguments":[01]}}"#.to_vec(),
            br#"{"params":{"arguments":"\ud800"}}"#.to_vec(),
            b"{\"params\":{\"arguments\":\"\xff\"}}".to_vec(),
            b"{\"params\":{\"arguments\":\"a\x01\"}}".to_vec(),
            br#"{"params":{"arguments":[tru]}}"#.to_vec(),
            br#"{"params":{"arguments":{"a":1,}}}"#.to_vec(),
            br#"{"params":{"arguments":{"a" 1}}} "#.to_vec(),
            br#"{"params":{"arguments":[1 2]}}"#.to_vec(),
            br#"{"params":{"arguments":{}}} x"#.to_vec(),
        ];
        // Large objects (the hash index) with a duplicate at the start, middle and end.
        let mut bodies = bodies;
        for dup in [None, Some(0), Some(700), Some(1499)] {
            let mut args: Vec<String> = (0..1500).map(|i| format!("\"k{i}\":{i}")).collect();
            if let Some(d) = dup {
                args.push(format!("\"k{d}\":0"));
            }
            bodies.push(
                format!(
                    r#"{{"params":{{"arguments":{{{}}},"_meta":{{}}}},"id":1}}"#,
                    args.join(",")
                )
                .into_bytes(),
            );
        }
        let tight = ParseLimits {
            max_depth: 4,
            max_string_bytes: 6,
        };
        for body in &bodies {
            check_outline(body, &LIMITS);
            check_outline(body, &tight);
            // Every truncation, and every byte replaced by a structural or odd character (of
            // the small bodies; the large ones are there for the hash index).
            if body.len() > 400 {
                continue;
            }
            for cut in 0..body.len() {
                check_outline(&body[..cut], &LIMITS);
                for b in [
                    b'{', b'}', b'[', b']', b'"', b',', b':', b'\\', b'1', b' ', 0x80,
                ] {
                    let mut mutated = body.clone();
                    mutated[cut] = b;
                    check_outline(&mutated, &LIMITS);
                    check_outline(&mutated, &tight);
                }
            }
        }
        // Depth limits around each level of the outline.
        for depth in 0..6 {
            let limits = ParseLimits {
                max_depth: depth,
                ..LIMITS
            };
            for body in [
                &br#"{"params":{"arguments":{"a":[[1]]}}}"#[..],
                br#"{"id":[[[1]]],"params":{}}"#,
                br#"[[{"params":{}}]]"#,
            ] {
                check_outline(body, &limits);
            }
        }
    }

    #[test]
    fn validated_input_parses_to_the_same_tree() {
        for body in [
            &br#"{"a":[1,2.5,{"b":"\u00e9"}],"c":null}"#[..],
            br#" "x" "#,
            br#"[true,false,{}]"#,
        ] {
            assert_eq!(parse_validated(body).unwrap(), ok(body));
        }
        let wide = format!(
            "{{{}}}",
            (0..40)
                .map(|i| format!("\"k{i}\":{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(
            parse_validated(wide.as_bytes()).unwrap(),
            ok(wide.as_bytes())
        );
        // Deeper and longer than any limit: accepted before, so parsed now.
        assert!(parse_validated(&nested(200)).is_ok());
        // Not JSON at all is still an error, never a panic.
        assert!(parse_validated(b"[1,").is_err());
    }

    #[test]
    fn display_names_kind_and_offset() {
        let e = parse(b"[1,", &LIMITS).unwrap_err();
        assert_eq!(e.to_string(), "unexpected end of input at byte 3");
        let e = parse(b"\"\\q\"", &LIMITS).unwrap_err();
        assert_eq!(e.to_string(), "invalid escape in string at byte 1");
    }
}
