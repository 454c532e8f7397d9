//! The expression language's operators and built-in functions as one table.
//!
//! Each built-in function has one entry ([`Func::def`]): its name, its signatures (which give its arity and the
//! type it returns) and what it does on known values ([`Apply`]). The compiler checks calls against the
//! signatures; the general evaluator ([`crate::vm`]), the kernel ([`crate::kernel`]), the hints
//! ([`crate::hints`]) and the codec read the same entry, and decide what to do by the kind of behaviour, never by
//! the function. A new function is a variant and its entry here; rustc points at the entry. Operators
//! ([`Arith`], [`Cmp`]) keep their symbol here, and the parser reads it.

use std::borrow::Cow;

/// An enum without fields, and every variant in order (the codec's tags).
macro_rules! table {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $v:ident,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $v,)*
        }

        impl $name {
            /// Every variant, in the order of the codec's tags (a new one goes at the end).
            pub const ALL: &'static [$name] = &[$($name::$v,)*];
        }
    };
}

table! {
    /// Comparison operators.
    Cmp {
        /// `==`
        Eq,
        /// `!=`
        Ne,
        /// `<`
        Lt,
        /// `<=`
        Le,
        /// `>`
        Gt,
        /// `>=`
        Ge,
    }
}

table! {
    /// Arithmetic operators.
    Arith {
        /// `+`
        Add,
        /// `-`
        Sub,
        /// `*`
        Mul,
        /// `/` (x / 0 is 0)
        Div,
        /// `%` (x % 0 is 0)
        Rem,
    }
}

table! {
    /// Built-in functions of the expression language.
    Func {
        /// `lower(s)`
        Lower,
        /// `upper(s)`
        Upper,
        /// `trim(s)`
        Trim,
        /// `contains(s, sub)`
        Contains,
        /// `contains(multi, value)`
        Has,
        /// `any_in(multi, list)`
        AnyIn,
        /// `starts_with(s, p)`
        StartsWith,
        /// `ends_with(s, p)`
        EndsWith,
        /// `domain(email)`
        Domain,
        /// `len(s)`
        Len,
        /// `min(a, ...)`
        Min,
        /// `max(a, ...)`
        Max,
        /// `abs(x)`
        Abs,
        /// `round(x)` (half away from zero)
        Round,
        /// `floor(x)`
        Floor,
        /// `ceil(x)`
        Ceil,
        /// `contains_any(s, list)`
        ContainsAny,
    }
}

impl Cmp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "==",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }

    /// Whether it orders numbers (`<`...), rather than testing two values of one type for equality.
    pub fn ordered(self) -> bool {
        match self {
            Cmp::Eq | Cmp::Ne => false,
            Cmp::Lt | Cmp::Le | Cmp::Gt | Cmp::Ge => true,
        }
    }

    /// On intervals: `Some(true)` when `a op b` holds for every pair, `Some(false)` when for none.
    pub fn over(self, a: (f64, f64), b: (f64, f64)) -> Option<bool> {
        let (yes, no) = match self {
            Cmp::Lt => (a.1 < b.0, a.0 >= b.1),
            Cmp::Le => (a.1 <= b.0, a.0 > b.1),
            Cmp::Gt => (a.0 > b.1, a.1 <= b.0),
            Cmp::Ge => (a.0 >= b.1, a.1 < b.0),
            Cmp::Eq => (a.0 == a.1 && b.0 == b.1 && a.0 == b.0, a.1 < b.0 || b.1 < a.0),
            Cmp::Ne => (a.1 < b.0 || b.1 < a.0, a.0 == a.1 && b.0 == b.1 && a.0 == b.0),
        };
        if yes {
            Some(true)
        } else if no {
            Some(false)
        } else {
            None
        }
    }

    /// The operator with its operands swapped: `a < b` is `b > a`.
    pub fn mirror(self) -> Cmp {
        match self {
            Cmp::Eq => Cmp::Eq,
            Cmp::Ne => Cmp::Ne,
            Cmp::Lt => Cmp::Gt,
            Cmp::Le => Cmp::Ge,
            Cmp::Gt => Cmp::Lt,
            Cmp::Ge => Cmp::Le,
        }
    }
}

impl Arith {
    /// On known numbers: x / 0 and x % 0 are 0, and so is any result that is not a number (infinity minus
    /// infinity, infinity % n): NaN never enters a score.
    pub fn at(self, x: f64, y: f64) -> f64 {
        let r = match self {
            Arith::Add => x + y,
            Arith::Sub => x - y,
            Arith::Mul => x * y,
            Arith::Div if y == 0.0 => 0.0,
            Arith::Div => x / y,
            Arith::Rem if y == 0.0 => 0.0,
            Arith::Rem => rem(x, y),
        };
        if r.is_nan() {
            0.0
        } else {
            r
        }
    }

    /// On intervals: the bounds of `a op b` for every pair; results that are not numbers make it unbounded.
    pub fn over(self, a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
        const ANY: (f64, f64) = (f64::NEG_INFINITY, f64::INFINITY);
        let fix = |(lo, hi): (f64, f64)| if lo.is_nan() || hi.is_nan() { ANY } else { (lo, hi) };
        let hull = |c: [f64; 4]| {
            if c.iter().any(|x| x.is_nan()) {
                return ANY;
            }
            (c.iter().copied().fold(f64::INFINITY, f64::min), c.iter().copied().fold(f64::NEG_INFINITY, f64::max))
        };
        match self {
            Arith::Add => fix((a.0 + b.0, a.1 + b.1)),
            Arith::Sub => fix((a.0 - b.1, a.1 - b.0)),
            Arith::Mul => hull([a.0 * b.0, a.0 * b.1, a.1 * b.0, a.1 * b.1]),
            // The divisor may be 0 (giving 0) or tiny: anything.
            Arith::Div if b.0 <= 0.0 && b.1 >= 0.0 => ANY,
            Arith::Div => hull([a.0 / b.0, a.0 / b.1, a.1 / b.0, a.1 / b.1]),
            Arith::Rem => {
                let m = b.0.abs().max(b.1.abs());
                if a.0 >= 0.0 {
                    (0.0, m.min(a.1.max(0.0)))
                } else {
                    (-m, m)
                }
            }
        }
    }

    /// How tightly it binds: `*`, `/` and `%` (2) before `+` and `-` (1).
    pub fn binds(self) -> u8 {
        match self {
            Arith::Add | Arith::Sub => 1,
            Arith::Mul | Arith::Div | Arith::Rem => 2,
        }
    }

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Arith::Add => "+",
            Arith::Sub => "-",
            Arith::Mul => "*",
            Arith::Div => "/",
            Arith::Rem => "%",
        }
    }
}

/// A type of the expression language, as signatures name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// A number.
    Num,
    /// A string (a text or choice field's answer).
    Str,
    /// `true` or `false`.
    Bool,
    /// A multiple choice field's answer.
    Multi,
    /// A list of strings.
    StrList,
    /// A list of numbers.
    NumList,
    /// A JsonLogic value: any JSON value, read as json-logic-js reads it (never in a signature).
    Json,
}

impl Type {
    /// The type in a message: "a number".
    pub fn name(self) -> &'static str {
        match self {
            Type::Num => "a number",
            Type::Str => "a string",
            Type::Bool => "a boolean",
            Type::Multi => "a multiple choice",
            Type::StrList => "a list of strings",
            Type::NumList => "a list of numbers",
            Type::Json => "a JsonLogic value",
        }
    }
}

/// One signature of a built-in function.
#[derive(Debug)]
pub struct Sig {
    /// The arguments' types; with `rest`, the last one repeats (one or more of it).
    pub args: &'static [Type],
    /// Whether the last argument type repeats.
    pub rest: bool,
    /// What the call gives.
    pub ret: Type,
    /// The function that runs for these arguments (`contains` of a multiple choice is [`Func::Has`]).
    pub runs: Func,
}

impl Sig {
    /// The arguments in a message: "(a string, a list of strings)", "(a number, ...)".
    pub fn text(&self) -> String {
        let mut names: Vec<&str> = self.args.iter().map(|t| t.name()).collect();
        if self.rest {
            names.push("...");
        }
        format!("({})", names.join(", "))
    }

    /// Whether arguments of these types fit.
    pub fn fits(&self, args: &[Type]) -> bool {
        match (self.rest, self.args.split_last()) {
            (true, Some((last, head))) => {
                args.len() >= self.args.len()
                    && args[..head.len()] == *head
                    && args[head.len()..].iter().all(|t| t == last)
            }
            _ => args == self.args,
        }
    }
}

/// The bounds of a function's values over an interval of its argument.
pub type Bounds = fn(f64, f64) -> (f64, f64);

/// What a built-in function does on known values. The evaluators decide by this, never by the function.
#[derive(Clone, Copy)]
pub enum Apply {
    /// A string from a string: a part of it, in the same case or changed.
    Text { part: fn(&str) -> &str, case: Case },
    /// A test of a string against a string, or against the strings of a list (true when one of them passes).
    Test(fn(&str, &str) -> bool),
    /// A number from a number (`at`), and the bounds of its values over an interval (`over`; `None` when `at`
    /// never decreases, so that they are `at` of the interval's bounds).
    Num { at: fn(f64) -> f64, over: Option<Bounds> },
    /// One number from one or more, folded pairwise with this (and bound by bound over intervals).
    Fold(fn(f64, f64) -> f64),
    /// The length: characters of a string, options chosen of a multiple choice.
    Len,
    /// Whether a multiple choice holds a string.
    Holds,
    /// Whether a multiple choice holds one of the strings of a list.
    HoldsAny,
}

/// The case of a [`Apply::Text`] function's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// As in its argument.
    Keep,
    /// Lower case.
    Lower,
    /// Upper case.
    Upper,
}

impl Case {
    /// `s` in this case: borrowed when it is already.
    pub fn apply(self, s: &str) -> Cow<'_, str> {
        let changed = match self {
            Case::Keep => None,
            Case::Lower => crate::host::lower(s),
            Case::Upper => crate::host::upper(s),
        };
        changed.map_or(Cow::Borrowed(s), Cow::Owned)
    }
}

/// A built-in function's entry.
#[derive(Clone, Copy)]
pub struct FuncDef {
    /// Its name in the language.
    pub name: &'static str,
    /// Its signatures, tried in order.
    pub sigs: &'static [Sig],
    /// What it does.
    pub apply: Apply,
    /// For the hints: an answer `f(answer)` gives `value` for (`domain`: `name@value`); `None` when the
    /// function's values are not answers.
    pub answer_for: Option<fn(&str) -> String>,
}

impl FuncDef {
    /// The fewest and most arguments (`usize::MAX`: any number).
    pub fn arity(&self) -> (usize, usize) {
        let lo = self.sigs.iter().map(|s| s.args.len()).min().unwrap_or(0);
        let hi = self.sigs.iter().map(|s| if s.rest { usize::MAX } else { s.args.len() }).max().unwrap_or(0);
        (lo, hi)
    }
}

/// A signature without a repeating argument.
macro_rules! sig {
    ([$($arg:expr),*], $ret:expr, $runs:expr) => {
        Sig { args: &[$($arg),*], rest: false, ret: $ret, runs: $runs }
    };
}

use Type::*;

impl Func {
    /// The function's entry. (A value, inlined: a build that reads only a part of it, as the evaluator reads
    /// [`FuncDef::apply`], keeps only that part.)
    #[inline(always)]
    pub fn def(self) -> FuncDef {
        match self {
            Func::Lower => FuncDef {
                name: "lower",
                sigs: &[sig!([Str], Str, Func::Lower)],
                apply: Apply::Text { part: whole, case: Case::Lower },
                answer_for: Some(str::to_string),
            },
            Func::Upper => FuncDef {
                name: "upper",
                sigs: &[sig!([Str], Str, Func::Upper)],
                apply: Apply::Text { part: whole, case: Case::Upper },
                answer_for: Some(str::to_string),
            },
            Func::Trim => FuncDef {
                name: "trim",
                sigs: &[sig!([Str], Str, Func::Trim)],
                apply: Apply::Text { part: str::trim, case: Case::Keep },
                answer_for: None,
            },
            Func::Contains => FuncDef {
                name: "contains",
                sigs: &[sig!([Str, Str], Bool, Func::Contains), sig!([Multi, Str], Bool, Func::Has)],
                apply: Apply::Test(contains),
                answer_for: None,
            },
            Func::Has => FuncDef {
                name: "contains",
                sigs: &[sig!([Multi, Str], Bool, Func::Has)],
                apply: Apply::Holds,
                answer_for: None,
            },
            Func::AnyIn => FuncDef {
                name: "any_in",
                sigs: &[sig!([Multi, StrList], Bool, Func::AnyIn)],
                apply: Apply::HoldsAny,
                answer_for: None,
            },
            Func::StartsWith => FuncDef {
                name: "starts_with",
                sigs: &[sig!([Str, Str], Bool, Func::StartsWith)],
                apply: Apply::Test(|s, p| s.starts_with(p)),
                answer_for: None,
            },
            Func::EndsWith => FuncDef {
                name: "ends_with",
                sigs: &[sig!([Str, Str], Bool, Func::EndsWith)],
                apply: Apply::Test(|s, p| s.ends_with(p)),
                answer_for: None,
            },
            Func::Domain => FuncDef {
                name: "domain",
                sigs: &[sig!([Str], Str, Func::Domain)],
                apply: Apply::Text { part: domain, case: Case::Lower },
                answer_for: Some(|s| format!("name@{s}")),
            },
            Func::Len => FuncDef {
                name: "len",
                sigs: &[sig!([Str], Num, Func::Len), sig!([Multi], Num, Func::Len)],
                apply: Apply::Len,
                answer_for: None,
            },
            Func::Min => FuncDef {
                name: "min",
                sigs: &[Sig { args: &[Num], rest: true, ret: Num, runs: Func::Min }],
                apply: Apply::Fold(f64::min),
                answer_for: None,
            },
            Func::Max => FuncDef {
                name: "max",
                sigs: &[Sig { args: &[Num], rest: true, ret: Num, runs: Func::Max }],
                apply: Apply::Fold(f64::max),
                answer_for: None,
            },
            Func::Abs => FuncDef {
                name: "abs",
                sigs: &[sig!([Num], Num, Func::Abs)],
                apply: Apply::Num {
                    at: f64::abs,
                    over: Some(|lo, hi| {
                        let min = if lo <= 0.0 && hi >= 0.0 { 0.0 } else { lo.abs().min(hi.abs()) };
                        (min, lo.abs().max(hi.abs()))
                    }),
                },
                answer_for: None,
            },
            Func::Round => FuncDef {
                name: "round",
                sigs: &[sig!([Num], Num, Func::Round)],
                // Half away from zero.
                apply: Apply::Num { at: libm::round, over: None },
                answer_for: None,
            },
            Func::Floor => FuncDef {
                name: "floor",
                sigs: &[sig!([Num], Num, Func::Floor)],
                apply: Apply::Num { at: libm::floor, over: None },
                answer_for: None,
            },
            Func::Ceil => FuncDef {
                name: "ceil",
                sigs: &[sig!([Num], Num, Func::Ceil)],
                apply: Apply::Num { at: libm::ceil, over: None },
                answer_for: None,
            },
            Func::ContainsAny => FuncDef {
                name: "contains_any",
                sigs: &[sig!([Str, StrList], Bool, Func::ContainsAny)],
                // Against a list, a test passes when it passes for one of the list's strings.
                apply: Apply::Test(contains),
                answer_for: None,
            },
        }
    }

    /// The function's name in the expression language (`Has` is `contains` of a multiple choice).
    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// The function a call by this name starts from (its signatures may run another, as `contains` does).
    pub fn named(name: &str) -> Option<Func> {
        Func::ALL.iter().copied().find(|f| f.def().name == name)
    }
}

/// `haystack.contains(needle)`, byte by byte (a UTF-8 needle matches only at a character boundary, so bytes give
/// the same answer). The standard library's search prepares the needle on every call, which costs more than the
/// search itself on a job title, and carries its panic paths into the Wasm module; an answer is at most a few
/// hundred characters.
pub(crate) fn contains(haystack: &str, needle: &str) -> bool {
    let Some((first, rest)) = needle.as_bytes().split_first() else { return true };
    // Compared byte by byte in place: a call of `memcmp` for each candidate costs more than a short compare.
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.split_first().is_some_and(|(a, w)| a == first && w.iter().zip(rest).all(|(a, b)| a == b)))
}

/// The whole string (the part `lower` and `upper` change).
fn whole(s: &str) -> &str {
    s
}

/// `x % y` (IEEE `fmod`: exact, with the sign of `x`), in 64-bit integers. The same on every target, and in
/// the Wasm builds 2 KB smaller than the library's, whose division of 128-bit integers comes with it.
pub(crate) fn rem(x: f64, y: f64) -> f64 {
    if x.is_infinite() || y.is_nan() || y == 0.0 {
        return f64::NAN;
    }
    if x.is_nan() || y.is_infinite() || x.abs() < y.abs() {
        return x;
    }
    // |v| = m * 2^e, with m an integer of at most 53 bits.
    let parts = |v: f64| {
        let (exp, m) = ((v.to_bits() >> 52 & 0x7ff) as i32, v.to_bits() & ((1 << 52) - 1));
        if exp == 0 {
            (m, -1074)
        } else {
            (m | 1 << 52, exp - 1075)
        }
    };
    let ((mx, ex), (my, ey)) = (parts(x), parts(y));
    // |x| >= |y|, so ex >= ey. r = mx * 2^(ex - ey) mod my, 11 bits at a time (r < 2^53: r << 11 fits).
    let (mut r, mut e) = (mx % my, ex - ey);
    while e > 0 {
        let k = e.min(11);
        r = (r << k) % my;
        e -= k;
    }
    // r * 2^ey is below |y|, and a multiple of its last bit: exact as a double.
    libm::copysign(libm::scalbn(r as f64, ey), x)
}

/// What `domain(s)` gives before its case change: the part after the last `@`, trimmed.
pub(crate) fn domain(s: &str) -> &str {
    // The last `@` (an ASCII byte, so never inside a character), found by a plain loop: an address is short.
    s.as_bytes().iter().rposition(|&b| b == b'@').and_then(|at| s.get(at + 1..)).unwrap_or("").trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_is_found_by_its_name_and_runs_what_its_signatures_say() {
        for &f in Func::ALL {
            let def = f.def();
            let named = Func::named(def.name).expect("found by its name");
            assert!(named == f || named.def().sigs.iter().any(|s| s.runs == f), "{f:?} is reached from `{}`", def.name);
            assert!(!def.sigs.is_empty(), "{f:?} has a signature");
        }
        assert_eq!(Func::Min.def().arity(), (1, usize::MAX));
        assert_eq!(Func::Contains.def().arity(), (2, 2));
        assert!(Func::Min.def().sigs[0].fits(&[Num, Num, Num]));
        assert!(!Func::Min.def().sigs[0].fits(&[]));
        assert!(!Func::Min.def().sigs[0].fits(&[Num, Str]));
    }

    #[test]
    fn substring_search_agrees_with_the_standard_library() {
        let hays = [
            "",
            "a",
            "Head of Data",
            "data",
            "dat",
            "ééa",
            "aéé",
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxdata",
        ];
        let needles = ["", "a", "data", "Data", "é", "éa", "aé", "xdata", "Head of Data!", "of D"];
        for h in hays {
            for n in needles {
                assert_eq!(contains(h, n), h.contains(n), "{h:?} contains {n:?}");
            }
        }
    }

    /// `rem` is the platform's `%` (IEEE fmod), bit for bit: on special values, on every pair of a grid of
    /// exponents (subnormal, normal, huge, both signs), and on a million pairs of random bit patterns.
    #[test]
    fn rem_is_fmod() {
        let same = |x: f64, y: f64| {
            let (got, want) = (rem(x, y), x % y);
            assert!(
                got.to_bits() == want.to_bits() || got.is_nan() && want.is_nan(),
                "{x:e} % {y:e}: {got:e} != {want:e}"
            );
        };
        let mut values = vec![0.0, f64::INFINITY, f64::NAN, f64::MIN_POSITIVE, f64::MAX, 5e-324, 1.0, 3.0, 0.1, 7.5];
        for e in (-1074..1024).step_by(37) {
            values.push(libm::scalbn(1.234_567_890_123_456_7, e));
            values.push(libm::scalbn(1.0, e));
        }
        let signed: Vec<f64> = values.iter().flat_map(|&v| [v, -v]).collect();
        for &x in &signed {
            for &y in &signed {
                same(x, y);
            }
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for i in 0..1_000_000 {
            let (x, mut y) = (f64::from_bits(next()), f64::from_bits(next()));
            if i % 2 == 0 {
                // Exponents close together, where most remainders are not the dividend itself.
                y = f64::from_bits(
                    y.to_bits() & !(0x7ff << 52) | (x.to_bits() >> 52 & 0x7ff).saturating_sub(i as u64 % 60) << 52,
                );
            }
            same(x, y);
        }
    }

    #[test]
    fn interval_comparisons_decide_only_when_certain() {
        assert_eq!(Cmp::Ge.over((50.0, 100.0), (50.0, 50.0)), Some(true));
        assert_eq!(Cmp::Ge.over((0.0, 49.0), (50.0, 50.0)), Some(false));
        assert_eq!(Cmp::Ge.over((0.0, 60.0), (50.0, 50.0)), None);
        assert_eq!(Arith::Mul.over((-2.0, 3.0), (4.0, 5.0)), (-10.0, 15.0));
        assert_eq!(Arith::Div.over((1.0, 2.0), (-1.0, 1.0)), (f64::NEG_INFINITY, f64::INFINITY));
    }

    #[test]
    fn substrings_and_domains_are_those_of_the_standard_library() {
        let texts =
            ["", "a", "ab", "aab", "Data Analyst", "data", "héllo wörld", "ö", "x@y", "a@b@c.com ", "@", "no at"];
        for h in texts {
            for n in texts.iter().chain(&["a", "ta", "Analyst", "st", "ö", "wö", "aa", "b@c"]) {
                assert_eq!(contains(h, n), h.contains(n), "contains({h:?}, {n:?})");
            }
            assert_eq!(domain(h), h.rsplit_once('@').map_or("", |(_, d)| d).trim(), "domain({h:?})");
        }
    }
}
