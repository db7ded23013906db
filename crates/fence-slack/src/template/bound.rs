//! A bound on every string a template can build, worked out from its syntax before it runs: fuel counts
//! instructions, not bytes, and one `~`, `*` or `replace` can allocate gigabytes in a single instruction, so a
//! template whose values could outgrow the output limit anywhere is refused before minijinja evaluates it.
//!
//! Each expression's bound is the largest byte length its value's text can have, given the sizes of the variables it
//! is rendered with: concatenation adds, `*` multiplies by a constant, filters by their own rule. Every
//! intermediate value must fit [`MAX_VALUE_BYTES`], and everything `set` keeps at once [`MAX_KEPT_BYTES`].
//! Constructs whose size cannot be bounded this way (macros, captured blocks, `set` inside loops, unknown filters and
//! functions) are refused by name.

use minijinja::machinery::ast::{self, CallArg, Expr, Stmt};
use std::collections::HashMap;

/// The largest value any expression may build: the output limit, since nothing larger can be sent.
pub const MAX_VALUE_BYTES: usize = super::MAX_OUTPUT;
/// The most all `set` variables may hold together.
pub const MAX_KEPT_BYTES: usize = 1024 * 1024;
/// A number, boolean or `none` printed.
const SCALAR: usize = 40;

/// What is known of a value: the byte length of its text, and how many items iterating it can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub bytes: usize,
    pub items: usize,
}

impl Size {
    /// A value of unknown shape no longer than `bytes`: iterating it gives at most one item per byte.
    fn text(bytes: usize) -> Size {
        Size {
            bytes,
            items: bytes,
        }
    }

    fn of(value: &serde_json::Value) -> Size {
        use serde_json::Value as J;
        let items = match value {
            J::Array(a) => a.len(),
            J::Object(o) => o.len(),
            J::String(s) => s.chars().count(),
            _ => 0,
        };
        Size {
            bytes: value.to_string().len(),
            items,
        }
    }

    /// The sizes of a message's variables, by name.
    pub fn of_variables(vars: &serde_json::Value) -> HashMap<String, Size> {
        vars.as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), Size::of(v)))
            .collect()
    }
}

/// Why a template is refused, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unbounded {
    pub line: usize,
    pub message: String,
}

/// Checks `source` with top-level variables of the given sizes (bytes of their JSON text).
pub fn check(source: &str, sizes: &HashMap<String, Size>) -> Result<(), Unbounded> {
    let tree =
        minijinja::machinery::parse(source, "template", Default::default(), Default::default())
            .map_err(|e| Unbounded {
                line: e.line().unwrap_or(1),
                message: e.detail().unwrap_or("syntax error").to_string(),
            })?;
    let mut scope = Scope {
        vars: sizes.clone(),
        kept: 0,
        in_loop: false,
    };
    scope.stmt(&tree)
}

struct Scope {
    vars: HashMap<String, Size>,
    kept: usize,
    in_loop: bool,
}

fn refuse<T>(line: u16, message: impl Into<String>) -> Result<T, Unbounded> {
    Err(Unbounded {
        line: usize::from(line),
        message: message.into(),
    })
}

impl Scope {
    fn stmts(&mut self, body: &[Stmt<'_>]) -> Result<(), Unbounded> {
        body.iter().try_for_each(|s| self.stmt(s))
    }

    fn stmt(&mut self, s: &Stmt<'_>) -> Result<(), Unbounded> {
        match s {
            Stmt::Template(t) => self.stmts(&t.children),
            Stmt::EmitExpr(e) => self.expr(&e.expr).map(drop),
            Stmt::EmitRaw(_) => Ok(()),
            Stmt::ForLoop(f) => self.for_loop(f),
            Stmt::IfCond(c) => {
                self.expr(&c.expr)?;
                self.stmts(&c.true_body)?;
                self.stmts(&c.false_body)
            }
            Stmt::WithBlock(w) => {
                let saved = self.vars.clone();
                for (target, value) in &w.assignments {
                    let n = self.expr(value)?;
                    self.assign(target, n)?;
                }
                self.stmts(&w.body)?;
                self.vars = saved;
                Ok(())
            }
            Stmt::Set(set) if self.in_loop => refuse(
                set.span().start_line,
                "`set` inside a loop is not available in templates (its value could grow on every pass)",
            ),
            Stmt::Set(set) => {
                let n = self.expr(&set.expr)?;
                self.assign(&set.target, n)
            }
            Stmt::AutoEscape(a) => self.stmts(&a.body),
            other => {
                let (line, what) = unsupported(other);
                refuse(line, format!("{what} is not available in templates"))
            }
        }
    }

    fn for_loop(&mut self, f: &ast::Spanned<ast::ForLoop<'_>>) -> Result<(), Unbounded> {
        if f.recursive {
            return refuse(
                f.span().start_line,
                "recursive loops are not available in templates",
            );
        }
        let iter = self.expr(&f.iter)?;
        let item = Size::text(iter.bytes);
        let saved = (self.vars.clone(), self.in_loop);
        self.bind(&f.target, item);
        self.vars.insert("loop".into(), item);
        self.in_loop = true;
        if let Some(e) = &f.filter_expr {
            self.expr(e)?;
        }
        self.stmts(&f.body)?;
        (self.vars, self.in_loop) = saved;
        self.stmts(&f.else_body)
    }

    /// Loop targets: a name, or names unpacked from each item.
    fn bind(&mut self, target: &Expr<'_>, n: Size) {
        match target {
            Expr::Var(v) => {
                self.vars.insert(v.id.to_string(), n);
            }
            Expr::List(l) => l.items.iter().for_each(|t| self.bind(t, n)),
            _ => {}
        }
    }

    fn assign(&mut self, target: &Expr<'_>, n: Size) -> Result<(), Unbounded> {
        self.kept = self.kept.saturating_add(n.bytes);
        if self.kept > MAX_KEPT_BYTES {
            return refuse(
                target.span().start_line,
                format!(
                    "the template's variables could hold more than {MAX_KEPT_BYTES} bytes together"
                ),
            );
        }
        match target {
            Expr::Var(_) | Expr::List(_) => {
                self.bind(target, n);
                Ok(())
            }
            other => refuse(
                other.span().start_line,
                "only plain names can be assigned in templates",
            ),
        }
    }

    /// The expression's bound, refused when it or any part of it exceeds [`MAX_VALUE_BYTES`].
    fn expr(&mut self, e: &Expr<'_>) -> Result<Size, Unbounded> {
        let size = self.size(e)?;
        let n = size.bytes;
        if n > MAX_VALUE_BYTES {
            return refuse(
                e.span().start_line,
                format!(
                    "this {} could build a value of up to {n} bytes; templates are limited to {MAX_VALUE_BYTES}",
                    e.description()
                ),
            );
        }
        Ok(size)
    }

    fn size(&mut self, e: &Expr<'_>) -> Result<Size, Unbounded> {
        Ok(match e {
            Expr::Var(v) => self.vars.get(v.id).copied().unwrap_or(Size::text(0)),
            Expr::Const(c) => Size {
                bytes: c.value.to_string().len() + 2,
                items: c.value.len().unwrap_or(0),
            },
            Expr::Slice(s) => {
                for part in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    self.expr(part)?;
                }
                self.expr(&s.expr)?
            }
            Expr::UnaryOp(u) => Size::text(self.expr(&u.expr)?.bytes.saturating_add(1)),
            Expr::BinOp(b) => self.binop(b)?,
            Expr::Compare(c) => {
                self.expr(&c.expr)?;
                for op in &c.ops {
                    self.expr(&op.expr)?;
                }
                Size::text(SCALAR)
            }
            Expr::IfExpr(i) => {
                self.expr(&i.test_expr)?;
                let yes = self.expr(&i.true_expr)?;
                let no = match &i.false_expr {
                    Some(f) => self.expr(f)?,
                    None => Size::text(0),
                };
                Size {
                    bytes: yes.bytes.max(no.bytes),
                    items: yes.items.max(no.items),
                }
            }
            Expr::Filter(f) => self.filter(f)?,
            Expr::Test(t) => {
                self.expr(&t.expr)?;
                self.args(&t.args)?;
                Size::text(SCALAR)
            }
            // A part is no longer than the whole; how many items it holds is not known.
            Expr::GetAttr(g) => Size::text(self.expr(&g.expr)?.bytes),
            Expr::GetItem(g) => {
                self.expr(&g.subscript_expr)?;
                Size::text(self.expr(&g.expr)?.bytes)
            }
            Expr::Call(c) => self.call(c)?,
            Expr::List(l) => {
                let mut n = 2usize;
                for item in &l.items {
                    n = n.saturating_add(self.expr(item)?.bytes).saturating_add(2);
                }
                Size {
                    bytes: n,
                    items: l.items.len(),
                }
            }
            Expr::Map(m) => {
                let mut n = 2usize;
                for part in m.keys.iter().chain(&m.values) {
                    n = n.saturating_add(self.expr(part)?.bytes).saturating_add(2);
                }
                Size {
                    bytes: n,
                    items: m.keys.len(),
                }
            }
        })
    }

    fn binop(&mut self, b: &ast::BinOp<'_>) -> Result<Size, Unbounded> {
        use ast::BinOpKind as K;
        let (l, r) = (self.expr(&b.left)?.bytes, self.expr(&b.right)?.bytes);
        Ok(Size::text(match b.op {
            K::Add | K::Concat => l.saturating_add(r),
            K::ScAnd | K::ScOr => l.max(r),
            K::Mul => {
                let times = |e: &Expr<'_>| match e {
                    Expr::Const(c) => c.value.as_usize(),
                    _ => None,
                };
                match (times(&b.left), times(&b.right)) {
                    (_, Some(k)) => l.saturating_mul(k).max(SCALAR),
                    (Some(k), _) => r.saturating_mul(k).max(SCALAR),
                    _ => {
                        return refuse(
                            b.left.span().start_line,
                            "`*` needs a constant number on one side in templates",
                        )
                    }
                }
            }
            _ => SCALAR,
        }))
    }

    /// The bounds of a call's or filter's arguments, positional first.
    fn args(&mut self, args: &[CallArg<'_>]) -> Result<Vec<usize>, Unbounded> {
        args.iter()
            .map(|a| match a {
                CallArg::Pos(e)
                | CallArg::Kwarg(_, e)
                | CallArg::PosSplat(e)
                | CallArg::KwargSplat(e) => self.expr(e).map(|s| s.bytes),
            })
            .collect()
    }

    fn filter(&mut self, f: &ast::Filter<'_>) -> Result<Size, Unbounded> {
        let whole = match &f.expr {
            Some(e) => self.expr(e)?,
            None => Size::text(0),
        };
        let input = whole.bytes;
        let args = self.args(&f.args)?;
        let arg = |i: usize| args.get(i).copied().unwrap_or(0);
        let line = f.expr.as_ref().map_or(1, |e| e.span().start_line);
        // Filters that keep or narrow a sequence keep its item count.
        if let "reverse" | "sort" | "unique" | "list" | "map" | "select" | "reject" | "dictsort"
        | "items" = f.name
        {
            return Ok(whole);
        }
        Ok(Size::text(match f.name {
            "upper" | "lower" | "title" | "trim" | "string" | "first" | "last" | "safe"
            | "attr" | "min" | "max" | "lines" => input,
            "bool" | "int" | "float" | "abs" | "round" | "length" | "count" | "sum" => SCALAR,
            "default" | "d" => input.max(arg(0)),
            "urlencode" => input.saturating_mul(3),
            "escape" | "e" | "tojson" if args.is_empty() => input.saturating_mul(6),
            "split" => input.saturating_mul(4).saturating_add(2),
            // Every item gets the separator.
            "join" => input.saturating_add(whole.items.saturating_mul(arg(0))),
            // Every match (at most one per character, and one more for an empty pattern) becomes the new text.
            "replace" => (input.saturating_add(1)).saturating_mul(arg(1).saturating_add(1)),
            other => {
                return refuse(
                    line,
                    format!("the filter `{other}` is not available in templates"),
                )
            }
        }))
    }

    fn call(&mut self, c: &ast::Call<'_>) -> Result<Size, Unbounded> {
        let line = c.expr.span().start_line;
        let name = match &c.expr {
            Expr::Var(v) => v.id.to_string(),
            Expr::GetAttr(g) => match &g.expr {
                Expr::Var(v) if v.id == "loop" => format!("loop.{}", g.name),
                _ => String::new(),
            },
            _ => String::new(),
        };
        let args = self.args(&c.args)?;
        match name.as_str() {
            "range" => {
                let count = c
                    .args
                    .iter()
                    .filter_map(|a| match a {
                        CallArg::Pos(Expr::Const(k)) => k.value.as_usize(),
                        _ => None,
                    })
                    .max();
                match count {
                    Some(k) if c.args.len() <= 3 => Ok(Size {
                        bytes: k.saturating_mul(SCALAR / 2),
                        items: k,
                    }),
                    _ => refuse(line, "`range` needs constant numbers in templates"),
                }
            }
            "loop.cycle" => Ok(Size::text(args.into_iter().max().unwrap_or(0))),
            "loop.changed" => Ok(Size::text(SCALAR)),
            "" => refuse(
                line,
                "only `range` and `loop.cycle` can be called in templates",
            ),
            other => refuse(
                line,
                format!("the function `{other}` is not available in templates"),
            ),
        }
    }
}

/// What a statement Fence does not allow is called, and its line.
fn unsupported(s: &Stmt<'_>) -> (u16, &'static str) {
    match s {
        Stmt::SetBlock(b) => (b.span().start_line, "a `set` block"),
        Stmt::FilterBlock(b) => (b.span().start_line, "a `filter` block"),
        Stmt::Macro(m) => (m.span().start_line, "`macro`"),
        Stmt::CallBlock(c) => (c.span().start_line, "`call`"),
        Stmt::Do(d) => (d.span().start_line, "`do`"),
        Stmt::Block(b) => (b.span().start_line, "`block`"),
        Stmt::Import(i) => (i.span().start_line, "`import`"),
        Stmt::FromImport(i) => (i.span().start_line, "`from … import`"),
        Stmt::Extends(x) => (x.span().start_line, "`extends`"),
        Stmt::Include(i) => (i.span().start_line, "`include`"),
        _ => (1, "this statement"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes() -> HashMap<String, Size> {
        [
            ("title", 300, 300),
            ("alerts", 20_000, 15),
            ("domain", 40, 40),
        ]
        .into_iter()
        .map(|(k, bytes, items)| (k.to_string(), Size { bytes, items }))
        .collect()
    }

    fn refused(source: &str) -> String {
        match check(source, &sizes()) {
            Err(e) => e.message,
            Ok(()) => panic!("accepted: {source}"),
        }
    }

    #[test]
    fn ordinary_templates_pass() {
        for ok in [
            r#"{"text": "{{ title }} on {{ domain }}"}"#,
            r#"{% if alert_type == "coalesced" %}{% for a in alerts %}{{ a.title|upper }} {{ loop.index }}{% endfor %}{% endif %}"#,
            r#"{% set t = title ~ " (" ~ domain ~ ")" %}{{ t|upper }}{{ cvss_score|default("n/a") }}"#,
            r#"{% for i in range(10) %}{{ "-" * 3 }}{% endfor %}{{ alerts|map(attribute="title")|join(", ") }}"#,
        ] {
            assert_eq!(check(ok, &sizes()), Ok(()), "{ok}");
        }
    }

    #[test]
    fn every_way_to_build_a_huge_string_is_refused() {
        let bomb = r#"{% set a="x"*50000000 %}{% set b=a~a %}{% set c=b~b %}{% set d=c~c %}{"text": "{{ d|length }}"}"#;
        assert!(refused(bomb).contains("bytes"), "{}", refused(bomb));
        let doubling: String = (0..10)
            .map(|i| format!("{{% set v{} = v{i} ~ v{i} %}}", i + 1))
            .collect();
        assert!(refused(&format!("{{% set v0 = title %}}{doubling}")).contains("bytes"));
        assert!(refused("{{ title * cvss_score }}").contains("constant number"));
        assert!(refused("{{ title|replace('', title)|replace('', title) }}").contains("bytes"));
        assert!(refused("{{ range(1000000)|join(title) }}").contains("bytes"));
        assert!(
            refused("{% for i in range(9) %}{% set title = title ~ title %}{% endfor %}")
                .contains("inside a loop")
        );
        assert!(refused("{% macro m(x) %}{{ m(x ~ x) }}{% endmacro %}").contains("`macro`"));
        assert!(refused("{% set x %}{{ title }}{% endset %}").contains("`set` block"));
        assert!(refused("{{ title|indent(1000000) }}").contains("`indent`"));
        assert!(refused("{{ namespace(a=1) }}").contains("`namespace`"));
        assert!(refused("{{ range(n) }}").contains("constant numbers"));
        let nested: String = (0..12)
            .map(|i| format!("{{% for x{} in [x{i} ~ x{i}] %}}", i + 1))
            .collect();
        let close = "{% endfor %}".repeat(13);
        assert!(refused(&format!("{{% for x0 in [title] %}}{nested}{close}")).contains("bytes"));
    }

    #[test]
    fn the_refusal_names_the_line() {
        let e = check("{\n\"text\": \"{{ title|pprint }}\"\n}", &sizes()).expect_err("refused");
        assert_eq!(e.line, 2);
    }
}
