//! The `scalingModifiers.formula` language: the subset of expr-lang
//! (`github.com/expr-lang/expr`, which KEDA compiles the formula with)
//! that composite formulas use, with expr-lang's precedences
//! (`parser/operator`): `??` 500, unary `-` 90, `*` `/` 60, `+` `-` 30,
//! comparisons 20, then the ternary `c ? a : b`; and expr-lang's
//! `count(array, predicate)` builtin over an array literal, the predicate
//! in braces or bare, `#` its element (`builtin/builtin.go`, `count`: the
//! number of elements the predicate is true for; a predicate that is not
//! a bool is an error).
//!
//! ```text
//! formula := ternary
//! ternary := binary [ "?" ternary ":" ternary ]
//! binary  := unary { op unary }     op: ?? * / + - < <= > >= == !=
//! unary   := "-" unary | "+" unary | primary
//! primary := number | trigger name | "#" (in a predicate)
//!          | "float" "(" formula ")" | "(" formula ")"
//!          | "count" "(" array "," predicate ")"
//! array   := "[" [ formula { "," formula } ] "]"
//! predicate := "{" formula "}" | formula
//! ```
//!
//! A trigger's value is a number or nil (its metric failed past the
//! fallback threshold); `a ?? b` is `b` when `a` is nil. Arithmetic or an
//! order comparison on nil is an error, as in expr-lang. Errors give the
//! 1-based column of the offending token.

use std::fmt;

/// A value while evaluating.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// A number (expr-lang's float; integers are exact in it).
    Num(f64),
    /// A comparison's result.
    Bool(bool),
    /// No value (`nil`).
    Nil,
}

/// A formula that does not parse or cannot be evaluated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{what}", .column.map(|c| format!("column {c}: ")).unwrap_or_default())]
pub struct FormulaError {
    /// 1-based column of the offending token (`None` for a runtime error).
    pub column: Option<usize>,
    /// What is wrong.
    pub what: String,
}

fn at(column: usize, what: impl Into<String>) -> FormulaError {
    FormulaError {
        column: Some(column),
        what: what.into(),
    }
}

fn runtime(what: impl Into<String>) -> FormulaError {
    FormulaError {
        column: None,
        what: what.into(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Coalesce,
    Mul,
    Div,
    Add,
    Sub,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    /// expr-lang's precedence (all left-associative).
    fn precedence(self) -> u32 {
        match self {
            Op::Coalesce => 500,
            Op::Mul | Op::Div => 60,
            Op::Add | Op::Sub => 30,
            _ => 20,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Op::Coalesce => "??",
            Op::Mul => "*",
            Op::Div => "/",
            Op::Add => "+",
            Op::Sub => "-",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        };
        f.write_str(s)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Name(String),
    Op(Op),
    Question,
    Colon,
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    OpenBrace,
    CloseBrace,
    Comma,
    Pointer,
    End,
}

fn lex(text: &str) -> Result<Vec<(Tok, usize)>, FormulaError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
        let op2 = match two.as_str() {
            "??" => Some(Op::Coalesce),
            "<=" => Some(Op::Le),
            ">=" => Some(Op::Ge),
            "==" => Some(Op::Eq),
            "!=" => Some(Op::Ne),
            _ => None,
        };
        if let Some(op) = op2 {
            out.push((Tok::Op(op), col));
            i += 2;
            continue;
        }
        let tok = match c {
            '+' => Tok::Op(Op::Add),
            '-' => Tok::Op(Op::Sub),
            '*' => Tok::Op(Op::Mul),
            '/' => Tok::Op(Op::Div),
            '<' => Tok::Op(Op::Lt),
            '>' => Tok::Op(Op::Gt),
            '?' => Tok::Question,
            ':' => Tok::Colon,
            '(' => Tok::Open,
            ')' => Tok::Close,
            '[' => Tok::OpenBracket,
            ']' => Tok::CloseBracket,
            '{' => Tok::OpenBrace,
            '}' => Tok::CloseBrace,
            ',' => Tok::Comma,
            '#' => Tok::Pointer,
            c if c.is_ascii_digit() || c == '.' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let s: String = chars[start..i].iter().collect();
                let v = s
                    .parse::<f64>()
                    .map_err(|_| at(col, format!("`{s}` is not a number")))?;
                out.push((Tok::Num(v), col));
                continue;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push((Tok::Name(chars[start..i].iter().collect()), col));
                continue;
            }
            c => {
                return Err(at(
                    col,
                    format!("`{c}` is not supported (numbers, trigger names, + - * / ??, comparisons, ?:, parentheses and count([...], predicate) are)"),
                ))
            }
        };
        out.push((tok, col));
        i += 1;
    }
    out.push((Tok::End, chars.len() + 1));
    Ok(out)
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Num(f64),
    Name(String),
    Neg(Box<Node>),
    Float(Box<Node>),
    Binary(Op, Box<Node>, Box<Node>),
    Ternary(Box<Node>, Box<Node>, Box<Node>),
    /// `count(array, predicate)`.
    Count(Vec<Node>, Box<Node>),
    /// `#`: the element a predicate is applied to.
    Pointer,
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    i: usize,
    /// Predicates being parsed (where `#` means something).
    predicates: u32,
}

impl Parser {
    fn peek(&self) -> &(Tok, usize) {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> (Tok, usize) {
        let t = self.peek().clone();
        self.i += 1;
        t
    }

    fn ternary(&mut self) -> Result<Node, FormulaError> {
        let cond = self.binary(0)?;
        if self.peek().0 != Tok::Question {
            return Ok(cond);
        }
        self.next();
        let yes = self.ternary()?;
        match self.next() {
            (Tok::Colon, _) => {}
            (_, col) => return Err(at(col, "expected `:` of the `?:`")),
        }
        let no = self.ternary()?;
        Ok(Node::Ternary(Box::new(cond), Box::new(yes), Box::new(no)))
    }

    /// Precedence climbing: operators binding tighter than `min`.
    fn binary(&mut self, min: u32) -> Result<Node, FormulaError> {
        let mut left = self.unary()?;
        while let (Tok::Op(op), _) = *self.peek() {
            if op.precedence() <= min {
                break;
            }
            self.next();
            let right = self.binary(op.precedence())?;
            left = Node::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Node, FormulaError> {
        match self.peek().0 {
            Tok::Op(Op::Sub) => {
                self.next();
                Ok(Node::Neg(Box::new(self.binary(90)?)))
            }
            Tok::Op(Op::Add) => {
                self.next();
                self.binary(90)
            }
            _ => self.primary(),
        }
    }

    /// The closing token `want` (`what` names it in the error).
    fn expect(&mut self, want: Tok, what: &str) -> Result<(), FormulaError> {
        match self.next() {
            (t, _) if t == want => Ok(()),
            (_, col) => Err(at(col, format!("expected {what}"))),
        }
    }

    /// `count(` already read: `[elements], predicate)`.
    fn count(&mut self) -> Result<Node, FormulaError> {
        self.expect(
            Tok::OpenBracket,
            "`[` (count's first argument is an array of values)",
        )?;
        let mut items = Vec::new();
        if self.peek().0 == Tok::CloseBracket {
            self.next();
        } else {
            loop {
                items.push(self.ternary()?);
                match self.next() {
                    (Tok::Comma, _) => {}
                    (Tok::CloseBracket, _) => break,
                    (_, col) => return Err(at(col, "expected `,` or `]`")),
                }
            }
        }
        self.expect(Tok::Comma, "`,` and count's predicate")?;
        self.predicates += 1;
        let predicate = if self.peek().0 == Tok::OpenBrace {
            self.next();
            let p = self.ternary()?;
            self.expect(Tok::CloseBrace, "`}`")?;
            p
        } else {
            self.ternary()?
        };
        self.predicates -= 1;
        self.expect(Tok::Close, "`)`")?;
        Ok(Node::Count(items, Box::new(predicate)))
    }

    fn primary(&mut self) -> Result<Node, FormulaError> {
        match self.next() {
            (Tok::Num(v), _) => Ok(Node::Num(v)),
            (Tok::Pointer, col) => {
                if self.predicates == 0 {
                    return Err(at(col, "`#` is only defined in count's predicate"));
                }
                Ok(Node::Pointer)
            }
            (Tok::Name(n), _) if n == "count" && self.peek().0 == Tok::Open => {
                self.next();
                self.count()
            }
            (Tok::Name(n), col) if self.peek().0 == Tok::Open => {
                if n != "float" {
                    return Err(at(
                        col,
                        format!("function `{n}` is not supported (float and count are)"),
                    ));
                }
                self.next();
                let e = self.ternary()?;
                match self.next() {
                    (Tok::Close, _) => Ok(Node::Float(Box::new(e))),
                    (_, col) => Err(at(col, "expected `)`")),
                }
            }
            (Tok::Name(n), _) => Ok(Node::Name(n)),
            (Tok::Open, _) => {
                let e = self.ternary()?;
                match self.next() {
                    (Tok::Close, _) => Ok(e),
                    (_, col) => Err(at(col, "expected `)`")),
                }
            }
            (Tok::End, col) => Err(at(col, "the formula ends where a value is expected")),
            (_, col) => Err(at(col, "expected a number, a trigger name, count or `(`")),
        }
    }
}

/// A parsed formula.
#[derive(Clone, Debug, PartialEq)]
pub struct Formula {
    root: Node,
}

impl Formula {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Formula, FormulaError> {
        let mut p = Parser {
            toks: lex(text)?,
            i: 0,
            predicates: 0,
        };
        let root = p.ternary()?;
        match p.peek() {
            (Tok::End, _) => Ok(Formula { root }),
            (_, col) => Err(at(*col, "unexpected token after the formula")),
        }
    }

    /// The trigger names the formula reads, in order of appearance.
    pub fn names(&self) -> Vec<&str> {
        fn walk<'a>(n: &'a Node, out: &mut Vec<&'a str>) {
            match n {
                Node::Num(_) | Node::Pointer => {}
                Node::Name(s) => out.push(s),
                Node::Count(items, p) => {
                    items.iter().for_each(|i| walk(i, out));
                    walk(p, out);
                }
                Node::Neg(a) | Node::Float(a) => walk(a, out),
                Node::Binary(_, a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                Node::Ternary(c, a, b) => {
                    walk(c, out);
                    walk(a, out);
                    walk(b, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out
    }

    /// The value with each trigger name's value from `value_of` (`None`:
    /// no such trigger, an error; `Some(None)`: the trigger's nil).
    pub fn eval(
        &self,
        value_of: &dyn Fn(&str) -> Option<Option<f64>>,
    ) -> Result<Value, FormulaError> {
        eval(
            &self.root,
            &Scope {
                value_of,
                elem: None,
            },
        )
    }
}

/// What names and `#` stand for while evaluating.
struct Scope<'a> {
    value_of: &'a dyn Fn(&str) -> Option<Option<f64>>,
    /// The element of the innermost predicate being applied.
    elem: Option<Value>,
}

fn eval(n: &Node, scope: &Scope<'_>) -> Result<Value, FormulaError> {
    let value_of = scope.value_of;
    Ok(match n {
        Node::Num(v) => Value::Num(*v),
        // The parser admits `#` only inside a predicate.
        Node::Pointer => scope.elem.unwrap_or(Value::Nil),
        Node::Count(items, p) => {
            let mut n = 0u32;
            for item in items {
                let inner = Scope {
                    value_of,
                    elem: Some(eval(item, scope)?),
                };
                match eval(p, &inner)? {
                    Value::Bool(true) => n += 1,
                    Value::Bool(false) => {}
                    other => {
                        return Err(runtime(format!(
                            "predicate should return boolean, got {other:?}"
                        )))
                    }
                }
            }
            Value::Num(f64::from(n))
        }
        Node::Name(s) => match value_of(s) {
            Some(Some(v)) => Value::Num(v),
            Some(None) => Value::Nil,
            None => return Err(runtime(format!("unknown name {s} (no trigger has it)"))),
        },
        Node::Neg(a) => match eval(a, scope)? {
            Value::Num(x) => Value::Num(-x),
            other => return Err(runtime(format!("invalid operation: - on {other:?}"))),
        },
        Node::Float(a) => match eval(a, scope)? {
            Value::Num(x) => Value::Num(x),
            other => return Err(runtime(format!("invalid argument for float: {other:?}"))),
        },
        Node::Ternary(c, a, b) => match eval(c, scope)? {
            Value::Bool(true) => eval(a, scope)?,
            Value::Bool(false) => eval(b, scope)?,
            other => return Err(runtime(format!("non-bool {other:?} used as condition"))),
        },
        // `??` evaluates its right side only when the left is nil.
        Node::Binary(Op::Coalesce, a, b) => match eval(a, scope)? {
            Value::Nil => eval(b, scope)?,
            v => v,
        },
        Node::Binary(op, a, b) => binary(*op, eval(a, scope)?, eval(b, scope)?)?,
    })
}

fn binary(op: Op, l: Value, r: Value) -> Result<Value, FormulaError> {
    use Value::{Bool, Num};
    Ok(match (op, l, r) {
        (Op::Eq, l, r) => Bool(l == r),
        (Op::Ne, l, r) => Bool(l != r),
        (Op::Mul, Num(x), Num(y)) => Num(x * y),
        (Op::Div, Num(x), Num(y)) => Num(x / y),
        (Op::Add, Num(x), Num(y)) => Num(x + y),
        (Op::Sub, Num(x), Num(y)) => Num(x - y),
        (Op::Lt, Num(x), Num(y)) => Bool(x < y),
        (Op::Le, Num(x), Num(y)) => Bool(x <= y),
        (Op::Gt, Num(x), Num(y)) => Bool(x > y),
        (Op::Ge, Num(x), Num(y)) => Bool(x >= y),
        (op, l, r) => return Err(runtime(format!("invalid operation: {l:?} {op} {r:?}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, vars: &[(&str, Option<f64>)]) -> Result<Value, FormulaError> {
        let f = Formula::parse(text)?;
        f.eval(&|n| vars.iter().find(|(k, _)| *k == n).map(|&(_, v)| v))
    }

    #[test]
    fn precedence_and_nil_follow_expr_lang() {
        let (a5, a_nil) = ([("a", Some(5.0))], [("a", None)]);
        // (formula, vars, value)
        type Vars<'a> = &'a [(&'a str, Option<f64>)];
        let cases: [(&str, Vars<'_>, Value); 9] = [
            ("1 + 2 * 3", &[], Value::Num(7.0)),
            ("(1 + 2) * 3", &[], Value::Num(9.0)),
            ("7 / 2 - 1", &[], Value::Num(2.5)),
            // `??` binds tighter than `+` (500 against 30) ...
            ("a ?? 1 + 2", &a_nil, Value::Num(3.0)),
            ("a ?? 1 + 2", &a5, Value::Num(7.0)),
            // ... and than unary minus (90): -(a ?? 2).
            ("-a ?? 2", &a_nil, Value::Num(-2.0)),
            ("a > 2 ? a * 2 : 0", &a5, Value::Num(10.0)),
            ("a < 2 ? 1 : a >= 5 ? 2 : 3", &a5, Value::Num(2.0)),
            ("a == 5", &a5, Value::Bool(true)),
        ];
        for (text, vars, want) in cases {
            assert_eq!(run(text, vars), Ok(want), "{text}");
        }
        assert_eq!(run("a ?? b", &[("a", None), ("b", None)]), Ok(Value::Nil));
        assert_eq!(run("float(a)", &a5), Ok(Value::Num(5.0)));
    }

    /// expr-lang's `count(array, predicate)`: `len(filter(array,
    /// predicate))` (docs/language-definition.md, "count"), the predicate
    /// in braces or bare, `#` the element (the innermost predicate's when
    /// they nest).
    #[test]
    fn count_counts_the_elements_its_predicate_holds_for() {
        let ab = |a: f64, b: f64| [("a", Some(a)), ("b", Some(b))];
        type Vars<'a> = &'a [(&'a str, Option<f64>)];
        let cases: [(&str, Vars<'_>, f64); 7] = [
            ("count([1, 2, 3, 4], # > 2)", &[], 2.0),
            ("count([1, 2, 3, 4], {# > 2})", &[], 2.0),
            ("count([], {# > 2})", &[], 0.0),
            ("count([a, b], {# >= 2}) * 10", &ab(2.0, 1.0), 10.0),
            ("count([a, b, a + b], # == 3)", &ab(2.0, 1.0), 1.0),
            // `#` is the inner element inside the inner predicate.
            ("count([1, 2, 3], count([#, 5], # > 2) == 2)", &[], 1.0),
            ("count([a ?? 7], # > 6)", &[("a", None)], 1.0),
        ];
        for (text, vars, want) in cases {
            assert_eq!(run(text, vars), Ok(Value::Num(want)), "{text}");
        }
        let f = Formula::parse("count([a, 1], {# > b}) + c").unwrap();
        assert_eq!(f.names(), vec!["a", "b", "c"]);
    }

    #[test]
    fn bad_formulas_are_located_errors() {
        // (formula, column or None for a runtime error, words)
        let cases = [
            ("a + ", Some(5), "ends where a value is expected"),
            ("a % 2", Some(3), "`%` is not supported"),
            ("max(a)", Some(1), "function `max` is not supported"),
            ("max(a, 1)", Some(1), "function `max` is not supported"),
            ("count(a, # > 1)", Some(7), "expected `[`"),
            ("count([a], # > 1", Some(17), "expected `)`"),
            (
                "count([a] # > 1)",
                Some(11),
                "expected `,` and count's predicate",
            ),
            ("count([a, 1, {# > 1})", Some(14), "expected a number"),
            ("# + 1", Some(1), "only defined in count's predicate"),
            ("count([1], # + 1)", None, "predicate should return boolean"),
            ("count([a], # > 1)", None, "invalid operation"),
            ("(a + 1", Some(7), "expected `)`"),
            ("a 1", Some(3), "unexpected token"),
            ("a ? 1", Some(6), "expected `:`"),
            ("b + 1", None, "unknown name b"),
            ("a + 1", None, "invalid operation"),
            ("a ? 1 : 2", None, "non-bool"),
        ];
        for (text, column, words) in cases {
            let e = run(text, &[("a", None)]).unwrap_err();
            assert_eq!(e.column, column, "{text}: {e}");
            assert!(e.to_string().contains(words), "{text}: {e}");
        }
    }
}
