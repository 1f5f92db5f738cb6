//! The time a verifier reads, and when: [`Clock`] is asked only at the step that needs the time
//! (a token's step 6 reads it first; an envelope's step 7 after its signature), so a caller whose
//! time is unusable (a bad `now=` argument) is told so exactly where the contract reads it, after
//! any earlier refusal. Nothing in this crate reads the system clock.

use std::convert::Infallible;

use crate::errors::VerifyError;

/// A source of the current time.
pub trait Clock {
    /// Why the time could not be read.
    type Error;

    /// Unix seconds (JWT claims are compared as `f64` seconds).
    fn unix_seconds(&mut self) -> Result<f64, Self::Error>;

    /// Unix milliseconds, rounded down (envelope `iat` is whole milliseconds).
    fn unix_millis(&mut self) -> Result<i64, Self::Error>;
}

/// A fixed instant, in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixedClock(pub f64);

impl Clock for FixedClock {
    type Error = Infallible;

    fn unix_seconds(&mut self) -> Result<f64, Infallible> {
        Ok(self.0)
    }

    /// `floor(seconds × 1000)`, saturated to `i64` (NaN reads as 0).
    fn unix_millis(&mut self) -> Result<i64, Infallible> {
        Ok((self.0 * 1000.0).floor() as i64)
    }
}

/// Why a verification that reads a [`Clock`] did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure<E> {
    /// A check refused.
    Refused(VerifyError),
    /// The clock could not be read (at the step that needed it).
    Clock(E),
}

impl<E> From<VerifyError> for Failure<E> {
    fn from(err: VerifyError) -> Self {
        Failure::Refused(err)
    }
}

impl Failure<Infallible> {
    /// The refusal (a fixed clock cannot fail).
    pub fn into_refusal(self) -> VerifyError {
        match self {
            Failure::Refused(err) => err,
            Failure::Clock(never) => match never {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_millis_round_down_and_saturate() {
        assert_eq!(FixedClock(1.0015).unix_millis(), Ok(1001));
        assert_eq!(FixedClock(-0.0005).unix_millis(), Ok(-1));
        assert_eq!(FixedClock(1e300).unix_millis(), Ok(i64::MAX));
        assert_eq!(FixedClock(-1e300).unix_millis(), Ok(i64::MIN));
        assert_eq!(FixedClock(2.5).unix_seconds(), Ok(2.5));
    }
}
